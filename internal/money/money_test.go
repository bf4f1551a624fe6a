package money

import (
	"encoding/json"
	"math"
	"testing"
)

func TestExponentsAreISO4217s(t *testing.T) {
	for _, c := range []struct {
		code string
		exp  int
		ok   bool
	}{
		{"JPY", 0, true}, {"KRW", 0, true}, {"ISK", 0, true},
		{"EUR", 2, true}, {"USD", 2, true}, {"GBP", 2, true},
		// Where CLDR's display digits differ from ISO 4217's minor units, the minor units win:
		// an amount in minor units of IQD has three implied decimals whatever a page shows.
		{"IQD", 3, true}, {"IDR", 2, true}, {"COP", 2, true},
		{"KWD", 3, true}, {"BHD", 3, true}, {"TND", 3, true},
		{"CLF", 4, true},
		// Current codes the list must know.
		{"VES", 2, true}, {"SLE", 2, true}, {"ZWG", 2, true},
		// Unknown, withdrawn, without minor units, or not a code at all.
		{"ZZZ", 0, false}, {"HRK", 0, false}, {"XAU", 0, false}, {"XXX", 0, false},
		{"eur", 0, false}, {"EURO", 0, false}, {"", 0, false},
	} {
		exp, ok := Exponent(c.code)
		if exp != c.exp || ok != c.ok {
			t.Errorf("Exponent(%q) = %d, %v; want %d, %v", c.code, exp, ok, c.exp, c.ok)
		}
		if Known(c.code) != c.ok {
			t.Errorf("Known(%q) = %v", c.code, !c.ok)
		}
	}
	if all := Exponents(); len(all) < 150 || all["JPY"] != 0 || all["KWD"] != 3 {
		t.Errorf("Exponents has %d codes, JPY %d, KWD %d", len(all), all["JPY"], all["KWD"])
	}
}

func TestDecimalAndFormat(t *testing.T) {
	for _, c := range []struct {
		minor int64
		code  string
		want  string
	}{
		{15000, "EUR", "150.00"}, {9100, "EUR", "91.00"}, {5, "EUR", "0.05"}, {0, "EUR", "0.00"},
		{1500, "JPY", "1500"}, {0, "JPY", "0"},
		{1500, "KWD", "1.500"}, {7, "KWD", "0.007"}, {1234567, "IQD", "1234.567"},
		{12345, "CLF", "1.2345"},
		{-250, "EUR", "-2.50"}, {-1500, "JPY", "-1500"},
		{math.MinInt64, "EUR", "-92233720368547758.08"}, {math.MaxInt64, "KWD", "9223372036854775.807"},
		{1234, "ZZZ", "12.34"}, // stored before codes were checked: two decimals, as then
	} {
		if got := Decimal(c.minor, c.code); got != c.want {
			t.Errorf("Decimal(%d, %s) = %q, want %q", c.minor, c.code, got, c.want)
		}
		if got := Format(c.minor, c.code); got != c.want+" "+c.code {
			t.Errorf("Format(%d, %s) = %q", c.minor, c.code, got)
		}
		raw, err := json.Marshal(map[string]Amount{"a": {c.minor, c.code}})
		if err != nil || string(raw) != `{"a":`+c.want+`}` {
			t.Errorf("Amount{%d, %s} marshals to %s, %v", c.minor, c.code, raw, err)
		}
	}
}
