package file

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cmaemu/cmaemu/linux"
)

func TestStatusFlagsSetOnlyChangesNonblock(t *testing.T) {
	for _, tc := range []struct {
		name       string
		init, set  uint32
		want       uint32
		nonblocked bool
	}{
		{"set nonblock", linux.O_RDWR, linux.O_NONBLOCK, linux.O_RDWR | linux.O_NONBLOCK, true},
		{"clear nonblock", linux.O_WRONLY | linux.O_NONBLOCK, 0, linux.O_WRONLY, false},
		{"access mode and append stay", linux.O_RDONLY, linux.O_RDWR | linux.O_APPEND, linux.O_RDONLY, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s StatusFlags
			s.InitStatus(tc.init)
			assert.NoError(t, s.SetStatus(tc.set))
			got, err := s.Status()
			assert.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.nonblocked, s.Nonblocking())
		})
	}
}
