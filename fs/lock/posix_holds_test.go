package lock

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHolds(t *testing.T) {
	tab := New[string](Config{})
	p := Process(7)
	assert.False(t, tab.Holds(p))
	err := tab.Set("f", p, WriteLock, Range{Start: 0, End: 10}, nil)
	require.NoError(t, err)
	assert.True(t, tab.Holds(p))
	assert.False(t, tab.Holds(Process(8)))
	tab.Release("f", p)
	assert.False(t, tab.Holds(p))
}
