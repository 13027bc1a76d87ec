package contract

// hashSet is a set of 64-bit hashes with open addressing: the unique and
// duplicateValues rules insert a hash per row, and Go's map, with its
// growth and per-entry overhead, cost more than every other rule
// together.
type hashSet struct {
	slots []uint64 // 0 marks an empty slot; hash 0 is stored as 1
	n     int
}

// add inserts h and reports whether it was already there.
func (s *hashSet) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if s.n*4 >= len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			s.slots[i] = h
			s.n++
			return false
		}
	}
}

func (s *hashSet) grow() {
	old := s.slots
	size := max(1<<12, len(old)*2)
	s.slots = make([]uint64, size)
	s.n = 0
	mask := uint64(size - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
		s.n++
	}
}
