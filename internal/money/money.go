// Package money is how TicketFlow checks currencies and shows amounts: integer minor units of an
// ISO 4217 currency, written in major units by that currency's exponent (JPY 0 decimals, EUR 2,
// KWD 3). The currency list is ISO 4217's own (github.com/bojanz/currency, generated from the
// ISO 4217 maintenance agency's list): current currencies only, with their minor units.
package money

import (
	"strconv"
	"strings"

	"github.com/bojanz/currency"
)

// legacyExponent is used for a currency code the list does not know (an amount stored before
// codes were checked): the two decimals every amount was shown with before.
const legacyExponent = 2

// Exponent is the ISO 4217 minor-unit exponent of a currency: how many decimals its major unit
// has. ok is false for a code that is not a current ISO 4217 currency with minor units (unknown
// codes such as ZZZ, withdrawn ones such as HRK, and codes without minor units such as XAU).
func Exponent(code string) (exp int, ok bool) {
	if len(code) != 3 {
		return 0, false
	}
	d, ok := currency.GetDigits(code)
	return int(d), ok
}

// Known reports whether code is a current ISO 4217 currency that amounts can be kept in.
func Known(code string) bool {
	_, ok := Exponent(code)
	return ok
}

// Exponents lists every known currency with its exponent.
func Exponents() map[string]int {
	out := map[string]int{}
	for _, code := range currency.GetCurrencyCodes() {
		if exp, ok := Exponent(code); ok {
			out[code] = exp
		}
	}
	return out
}

// Decimal writes an amount of minor units in major units, with exactly the currency's number of
// decimals: 15000 EUR is "150.00", 1500 JPY is "1500", 1500 KWD is "1.500". Integer arithmetic
// only, so no amount is ever rounded. The result is also a valid JSON number.
func Decimal(minor int64, code string) string {
	exp, ok := Exponent(code)
	if !ok {
		exp = legacyExponent
	}
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = -u // two's complement: also right for the smallest int64
	}
	digits := strconv.FormatUint(u, 10)
	if exp > 0 {
		if len(digits) <= exp {
			digits = strings.Repeat("0", exp-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// Format writes an amount for people: its Decimal and the currency code, "150.00 EUR".
func Format(minor int64, code string) string {
	return Decimal(minor, code) + " " + code
}

// Amount is an amount of money that marshals to JSON as a number in major units, with the
// currency's decimals (150.00, 1500, 1.500): the REST answers' totalAmount and price.
type Amount struct {
	Minor    int64
	Currency string
}

// MarshalJSON writes the amount's Decimal.
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(Decimal(a.Minor, a.Currency)), nil
}
