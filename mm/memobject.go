package mm

// Memory objects: shared anonymous memory that the kernel also reads and
// writes itself (System V shared memory segments, memfd files). Their
// pages are frames of guest RAM held by a SharedObject without a file;
// every mapping of the object uses the same frames, so what a mapping
// stores, read(2) sees, and what write(2) stores, every mapping sees.

// NewMemObject returns a shared object without a file, with one reference
// that its owner drops with Release. onDrop, if not nil, is told of every
// dropped reference but the last, with the references left; onRelease,
// if not nil, runs when the last goes.
func NewMemObject(onDrop func(refs int), onRelease func()) *SharedObject {
	o := newSharedObject()
	o.onDrop, o.onRelease = onDrop, onRelease
	return o
}

// Refs returns the references held: one per VMA that maps the object,
// plus its owners'.
func (o *SharedObject) Refs() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.refs
}

// WritableMappings returns the VMAs that map the object and may write it
// (mapped through a descriptor open for writing, MAP_SHARED).
func (o *SharedObject) WritableMappings() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.writable
}

// Resident returns how many pages of the object have a frame.
func (o *SharedObject) Resident() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.frames)
}

// ReadAt copies the object's bytes at off into b: pages without a frame
// read as zeros and get none. The caller bounds off+len(b) by the
// object's size.
func (o *SharedObject) ReadAt(ram *RAM, b []byte, off uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for n := 0; n < len(b); {
		pg, po := (off+uint64(n))>>PageShift, (off+uint64(n))&(PageSize-1)
		chunk := b[n:min(len(b), n+int(PageSize-po))]
		if f, ok := o.frames[pg]; ok {
			copy(chunk, ram.Bytes(f)[po:])
		} else {
			clear(chunk)
		}
		n += len(chunk)
	}
}

// WriteAt copies b into the object at off, allocating frames as needed.
// It returns the bytes written: fewer than len(b) only when guest RAM is
// exhausted (ENOMEM). Code engines translated from the frames it wrote
// is dropped in every address space before it returns.
func (o *SharedObject) WriteAt(ram *RAM, b []byte, off uint64) (int, error) {
	n, code, err := o.writeAt(ram, b, off)
	if len(code) > 0 {
		ram.shootdownShared(nil, code)
	}
	return n, err
}

// writeAt is WriteAt under o.mu; it also returns the frames it wrote
// that hold a code mark.
func (o *SharedObject) writeAt(ram *RAM, b []byte, off uint64) (int, []Frame, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var code []Frame
	for n := 0; n < len(b); {
		pg, po := (off+uint64(n))>>PageShift, (off+uint64(n))&(PageSize-1)
		chunk := b[n:min(len(b), n+int(PageSize-po))]
		f, ok := o.frames[pg]
		if !ok {
			var err error
			if f, err = ram.Alloc(); err != nil {
				return n, code, err
			}
			ram.markShared(f)
			o.frames[pg] = f
		}
		copy(ram.Bytes(f)[po:], chunk)
		kernelWrote(&code, f, ram.codeMarked(f))
		n += len(chunk)
	}
	return len(b), code, nil
}

// Truncate makes the bytes from size on read as zeros, as a file cut to
// size and grown again does: whole pages beyond it that no mapping holds
// are given back; the others (and the tail of the last page) are cleared.
func (o *SharedObject) Truncate(ram *RAM, size uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	first := (size + PageSize - 1) >> PageShift
	if po := size & (PageSize - 1); po != 0 {
		if f, ok := o.frames[size>>PageShift]; ok {
			clear(ram.Bytes(f)[po:])
		}
	}
	for pg, f := range o.frames {
		if pg < first {
			continue
		}
		if ram.Refs(f) == 1 {
			delete(o.frames, pg)
			ram.DecRef(f)
		} else {
			clear(ram.Bytes(f))
		}
	}
}

// A file's object is its page cache while it has MAP_SHARED mappings:
// the pages some process faulted in are the object's frames, and read()
// and write() of the file go through them (CopyOutPresent,
// CopyInPresent) so that they agree with the mappings at once.

// CopyOutPresent copies the object's bytes at off into b where the
// object has a frame for the page, and leaves the rest of b (what the
// file gave) as it is. It returns the bytes it copied.
func (o *SharedObject) CopyOutPresent(ram *RAM, b []byte, off uint64) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.eachPresent(ram, b, off, func(page, chunk []byte) { copy(chunk, page) })
}

// CopyInPresent copies b into the object at off where it has a frame for
// the page (the file itself has been written already); pages without a
// frame are read from the file when they are faulted in. It returns the
// bytes it copied.
func (o *SharedObject) CopyInPresent(ram *RAM, b []byte, off uint64) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.eachPresent(ram, b, off, func(page, chunk []byte) { copy(page, chunk) })
}

// eachPresent calls fn with the part of each resident page that b at off
// covers, and the matching part of b.
// Preconditions: o.mu held.
func (o *SharedObject) eachPresent(ram *RAM, b []byte, off uint64, fn func(page, chunk []byte)) int {
	done := 0
	if len(o.frames) == 0 {
		return 0
	}
	for n := 0; n < len(b); {
		pg, po := (off+uint64(n))>>PageShift, (off+uint64(n))&(PageSize-1)
		chunk := b[n:min(len(b), n+int(PageSize-po))]
		if f, ok := o.frames[pg]; ok {
			fn(ram.Bytes(f)[po:po+uint64(len(chunk))], chunk)
			done += len(chunk)
		}
		n += len(chunk)
	}
	return done
}
