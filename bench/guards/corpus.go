package main

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"

	"golang.org/x/crypto/sha3"
)

// sample is one labelled text: the spans of the entities it holds.
type sample struct {
	text   string
	labels []label
}

type label struct {
	entity     string
	start, end int
}

// compose builds a sample from a template with one {} for the value.
func compose(tmpl, entity, value string) sample {
	i := strings.Index(tmpl, "{}")
	s := sample{text: tmpl[:i] + value + tmpl[i+2:]}
	if entity != "" {
		s.labels = []label{{entity, i, i + len(value)}}
	}
	return s
}

type gen struct{ r *rand.Rand }

func (g gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

func (g gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) alnum(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	lowerUpperDigits = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	upperDigits27    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
)

// luhnComplete appends the check digit that makes d pass Luhn.
func luhnComplete(d string) string {
	for c := byte('0'); c <= '9'; c++ {
		s := d + string(c)
		sum, dbl := 0, false
		for i := len(s) - 1; i >= 0; i-- {
			n := int(s[i] - '0')
			if dbl {
				if n *= 2; n > 9 {
					n -= 9
				}
			}
			sum += n
			dbl = !dbl
		}
		if sum%10 == 0 {
			return s
		}
	}
	panic("unreachable")
}

func group(s string, sizes []int, sep string) string {
	var parts []string
	for _, n := range sizes {
		parts = append(parts, s[:n])
		s = s[n:]
	}
	return strings.Join(parts, sep)
}

func (g gen) card(valid bool) string {
	var d string
	sizes := []int{4, 4, 4, 4}
	switch g.r.IntN(4) {
	case 0:
		d = "4" + g.digits(14)
	case 1:
		d = fmt.Sprint(51+g.r.IntN(5)) + g.digits(13)
	case 2:
		d, sizes = g.pick("34", "37")+g.digits(12), []int{4, 6, 5}
	default:
		d = "6011" + g.digits(11)
	}
	d = luhnComplete(d)
	if !valid {
		last := (d[len(d)-1]-'0'+1+byte(g.r.IntN(8)))%10 + '0'
		d = d[:len(d)-1] + string(last)
	}
	return group(d, sizes, g.pick(" ", "-", ""))
}

var ibanSpecs = map[string]string{"DE": "n18", "GB": "a4n14", "FR": "n23", "ES": "n20", "NL": "a4n10", "IT": "a1n22"}

func (g gen) iban(valid bool) string {
	cc := g.pick("DE", "GB", "FR", "ES", "NL", "IT")
	spec := ibanSpecs[cc]
	var bban string
	for spec != "" {
		kind := spec[0]
		n := 0
		i := 1
		for i < len(spec) && spec[i] >= '0' && spec[i] <= '9' {
			n = n*10 + int(spec[i]-'0')
			i++
		}
		if kind == 'a' {
			bban += g.alnum(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
		} else {
			bban += g.digits(n)
		}
		spec = spec[i:]
	}
	num := new(big.Int)
	var sb strings.Builder
	for _, c := range bban + cc + "00" {
		if c >= 'A' && c <= 'Z' {
			sb.WriteString(fmt.Sprint(int(c-'A') + 10))
		} else {
			sb.WriteRune(c)
		}
	}
	num.SetString(sb.String(), 10)
	check := 98 - int(new(big.Int).Mod(num, big.NewInt(97)).Int64())
	if !valid {
		check = (check + 1 + g.r.IntN(90)) % 100
	}
	s := fmt.Sprintf("%s%02d%s", cc, check, bban)
	if g.r.IntN(2) == 0 {
		var parts []string
		for len(s) > 4 {
			parts, s = append(parts, s[:4]), s[4:]
		}
		s = strings.Join(append(parts, s), " ")
	}
	return s
}

func (g gen) ssn(valid bool) string {
	area := 1 + g.r.IntN(899)
	if area == 666 {
		area = 667
	}
	grp, serial := 1+g.r.IntN(99), 1+g.r.IntN(9999)
	if !valid {
		switch g.r.IntN(3) {
		case 0:
			area = g.r.IntN(2) * 666
		case 1:
			grp = 0
		default:
			serial = 0
		}
	}
	return fmt.Sprintf("%03d-%02d-%04d", area, grp, serial)
}

func (g gen) nhs(valid bool) string {
	for {
		d := g.digits(9)
		sum := 0
		for i := 0; i < 9; i++ {
			sum += int(d[i]-'0') * (10 - i)
		}
		check := 11 - sum%11
		if check == 11 {
			check = 0
		}
		if check == 10 {
			continue
		}
		if !valid {
			check = (check + 1 + g.r.IntN(8)) % 10
		}
		return group(d+fmt.Sprint(check), []int{3, 3, 4}, " ")
	}
}

func (g gen) nino(valid bool) string {
	first, second := "ABCEGHJKLMNOPRSTWXYZ", "ABCEGHJKLMNPRSTWXYZ"
	p := string(first[g.r.IntN(len(first))]) + string(second[g.r.IntN(len(second))])
	for p == "BG" || p == "GB" || p == "NK" || p == "KN" || p == "TN" || p == "NT" || p == "ZZ" {
		p = string(first[g.r.IntN(len(first))]) + string(second[g.r.IntN(len(second))])
	}
	if !valid {
		p = g.pick("QQ", "DA", "FI", "GB", "VU")
	}
	return p + " " + group(g.digits(6), []int{2, 2, 2}, " ") + " " + g.pick("A", "B", "C", "D")
}

func (g gen) phone() string {
	switch g.r.IntN(10) {
	case 0:
		return fmt.Sprintf("(%d%s) %d%s-%s", 2+g.r.IntN(8), g.digits(2), 2+g.r.IntN(8), g.digits(2), g.digits(4))
	case 1:
		return fmt.Sprintf("+1 %d%s %d%s %s", 2+g.r.IntN(8), g.digits(2), 2+g.r.IntN(8), g.digits(2), g.digits(4))
	case 2:
		return "+44 20 " + g.digits(4) + " " + g.digits(4)
	case 3:
		return "07" + g.digits(3) + " " + g.digits(6)
	case 4:
		return "+49 30 " + g.digits(8)
	case 5:
		return "030 " + g.digits(8)
	case 6:
		return "+33 1 " + group(g.digits(8), []int{2, 2, 2, 2}, " ")
	case 7:
		return "0" + fmt.Sprint(1+g.r.IntN(9)) + " " + group(g.digits(8), []int{2, 2, 2, 2}, " ")
	case 8:
		return "+91 " + fmt.Sprint(6+g.r.IntN(4)) + g.digits(4) + " " + g.digits(5)
	}
	return fmt.Sprint(6+g.r.IntN(4)) + g.digits(4) + " " + g.digits(5)
}

func (g gen) mac() string {
	b := g.alnum(12, "0123456789ABCDEF")
	return group(b, []int{2, 2, 2, 2, 2, 2}, g.pick(":", "-"))
}

func (g gen) btc(valid bool) string {
	payload := make([]byte, 21)
	for i := 1; i < 21; i++ {
		payload[i] = byte(g.r.IntN(256))
	}
	h1 := sha256.Sum256(payload)
	h2 := sha256.Sum256(h1[:])
	raw := append(payload, h2[:4]...)
	if !valid {
		raw[len(raw)-1] ^= 1
	}
	n := new(big.Int).SetBytes(raw)
	var out []byte
	mod := new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, big.NewInt(58), mod)
		out = append(out, "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"[mod.Int64()])
	}
	for _, b := range raw {
		if b != 0 {
			break
		}
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func (g gen) eth(valid bool) string {
	hex := g.alnum(40, "0123456789abcdef")
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte(hex))
	sum := h.Sum(nil)
	b := []byte(hex)
	for i := range b {
		nib := sum[i/2]
		if i%2 == 0 {
			nib >>= 4
		}
		if b[i] >= 'a' && nib&0xf >= 8 {
			b[i] -= 32
		}
	}
	if !valid {
		for i := range b { // flip the case of one letter
			if b[i] >= 'a' && b[i] <= 'f' {
				b[i] -= 32
				break
			} else if b[i] >= 'A' && b[i] <= 'F' {
				b[i] += 32
				break
			}
		}
	}
	return "0x" + string(b)
}

func (g gen) name() string {
	return g.pick("jane", "omar", "li.wei", "m.garcia", "p_kumar", "anna-lena", "j.smith", "fatima", "k.nakamura", "olu")
}

func (g gen) domain() string {
	return g.pick("example.com", "mail.example.org", "corp.example.co.uk", "example.de", "uni.example.edu", "example.in")
}
