package pii

import (
	"crypto/sha256"
	"math/big"
	"strings"

	"golang.org/x/crypto/sha3"
)

// luhn reports whether a digit string passes the Luhn checksum.
func luhn(d []byte) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// cardNetwork names the network that issues cards of this number's prefix
// and length, or "" if none does.
func cardNetwork(d []byte) string {
	n := len(d)
	p := func(k int) int {
		v := 0
		for _, c := range d[:k] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	switch {
	case d[0] == '4' && (n == 13 || n == 16 || n == 19):
		return "visa"
	case (p(2) >= 51 && p(2) <= 55 || p(4) >= 2221 && p(4) <= 2720) && n == 16:
		return "mastercard"
	case (p(2) == 34 || p(2) == 37) && n == 15:
		return "amex"
	case (p(4) == 6011 || p(2) == 65 || p(3) >= 644 && p(3) <= 649) && n >= 16 && n <= 19:
		return "discover"
	case p(4) >= 3528 && p(4) <= 3589 && n >= 16 && n <= 19:
		return "jcb"
	case (p(3) >= 300 && p(3) <= 305 || p(2) == 36 || p(2) == 38) && n >= 14 && n <= 19:
		return "diners"
	case p(2) == 62 && n >= 16 && n <= 19:
		return "unionpay"
	case (p(2) == 50 || p(2) >= 56 && p(2) <= 69) && n >= 12 && n <= 19:
		return "maestro"
	}
	return ""
}

// allSame reports whether every digit is the same (0000…, 1111…): test
// patterns and placeholders, not numbers anyone was issued.
func allSame(d []byte) bool {
	for _, c := range d[1:] {
		if c != d[0] {
			return false
		}
	}
	return true
}

// ibanLengths gives each IBAN country's length (SWIFT IBAN registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
	"JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
	"MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
	"NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
	"SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

// validIBAN checks an IBAN with its separators removed: country length and
// the ISO 7064 mod-97 check.
func validIBAN(s string) bool {
	s = strings.ToUpper(s)
	if len(s) < 15 || ibanLengths[s[:2]] != len(s) {
		return false
	}
	rem := 0
	for _, c := range s[4:] + s[:4] {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// validSSN applies the SSA's rules: no area 000, 666 or 900–999 (the last
// are ITINs), no group 00, no serial 0000, and not one of the numbers
// published in advertising.
func validSSN(d []byte) bool {
	area := string(d[:3])
	switch {
	case area == "000" || area == "666" || d[0] == '9':
		return false
	case string(d[3:5]) == "00" || string(d[5:]) == "0000":
		return false
	case string(d) == "078051120" || string(d) == "219099999" || string(d) == "123456789":
		return false
	}
	return true
}

// validITIN: 9XX-GG-XXXX with group 50–65, 70–88, 90–92 or 94–99.
func validITIN(d []byte) bool {
	if d[0] != '9' {
		return false
	}
	g := int(d[3]-'0')*10 + int(d[4]-'0')
	return g >= 50 && g <= 65 || g >= 70 && g <= 88 || g >= 90 && g <= 92 || g >= 94
}

// validNINO checks a UK National Insurance number's prefix rules.
func validNINO(s string) bool {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if len(s) != 9 {
		return false
	}
	a, b := s[0], s[1]
	if strings.IndexByte("DFIQUV", a) >= 0 || strings.IndexByte("DFIQUVO", b) >= 0 {
		return false
	}
	switch s[:2] {
	case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
		return false
	}
	return strings.IndexByte("ABCD", s[8]) >= 0
}

// validNHS checks an NHS number's mod-11 check digit.
func validNHS(d []byte) bool {
	if len(d) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(d[i]-'0') * (10 - i)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(d[9]-'0')
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// validBase58Check decodes a base58 string and checks its double SHA-256
// checksum and the 25-byte length of a Bitcoin address.
func validBase58Check(s string) bool {
	n := new(big.Int)
	b58 := big.NewInt(58)
	for _, c := range s {
		i := strings.IndexRune(base58Alphabet, c)
		if i < 0 {
			return false
		}
		n.Mul(n, b58).Add(n, big.NewInt(int64(i)))
	}
	raw := n.Bytes()
	for _, c := range s { // leading '1's are leading zero bytes
		if c != '1' {
			break
		}
		raw = append([]byte{0}, raw...)
	}
	if len(raw) != 25 {
		return false
	}
	h1 := sha256.Sum256(raw[:21])
	h2 := sha256.Sum256(h1[:])
	return string(h2[:4]) == string(raw[21:])
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// validBech32 checks a segwit address's bech32 (witness v0) or bech32m
// (v1+) checksum (BIP 173, BIP 350).
func validBech32(s string) bool {
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 || len(s)-sep-1 < 6 || len(s) > 90 {
		return false
	}
	hrp, data := s[:sep], s[sep+1:]
	values := make([]int, 0, len(hrp)*2+1+len(data))
	for i := 0; i < len(hrp); i++ {
		values = append(values, int(hrp[i])>>5)
	}
	values = append(values, 0)
	for i := 0; i < len(hrp); i++ {
		values = append(values, int(hrp[i])&31)
	}
	for _, c := range data {
		v := strings.IndexRune(bech32Charset, c)
		if v < 0 {
			return false
		}
		values = append(values, v)
	}
	gen := [5]int{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := 1
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ v
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	witnessVersion := strings.IndexRune(bech32Charset, rune(data[0]))
	if witnessVersion == 0 {
		return chk == 1
	}
	return chk == 0x2bc830a3
}

// eip55 reports whether a mixed-case Ethereum address carries a valid
// EIP-55 checksum.
func eip55(addr string) bool {
	hex := addr[2:]
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte(strings.ToLower(hex)))
	sum := h.Sum(nil)
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if c < 'A' || c > 'z' || c > 'F' && c < 'a' {
			continue
		}
		nibble := sum[i/2]
		if i%2 == 0 {
			nibble >>= 4
		}
		upper := nibble&0xf >= 8
		if upper != (c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
