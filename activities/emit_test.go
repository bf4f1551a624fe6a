package activities

import "testing"

func TestEmitLooksFirstWhenTheSendMayNotBeTheFirst(t *testing.T) {
	cases := []struct {
		name    string
		attempt int32
		local   bool
		want    bool
	}{
		{"first local attempt", 1, true, false},
		{"local retry", 2, true, true},
		{"regular fallback, first attempt", 1, false, true},
		{"regular retry", 3, false, true},
	}
	for _, c := range cases {
		if got := mayHaveBeenSent(c.attempt, c.local); got != c.want {
			t.Errorf("%s: checked %v, want %v", c.name, got, c.want)
		}
	}
}
