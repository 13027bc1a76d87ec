package pii

import (
	"slices"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/guard"
)

// found runs the detector and returns entity:value pairs at score >= 0.5,
// the default threshold.
func found(text string) []string {
	var out []string
	t := &guard.Text{Segment: guard.Segment{Text: text}}
	Detector{}.Detect(t, func(f guard.Finding) {
		if f.Score >= 0.5 {
			out = append(out, f.Entity+":"+text[f.Start:f.End])
		}
	})
	return out
}

func TestDetect(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		// email
		{"write to jane.doe+tag@example.co.uk today", []string{"EMAIL:jane.doe+tag@example.co.uk"}},
		{"the @handle and a@b are not addresses", nil},
		{"dots .jane@example.com", []string{"EMAIL:jane@example.com"}},
		// cards: valid Luhn with a known network; lookalikes that fail
		{"card 4111 1111 1111 1111 exp 12/26", []string{"CREDIT_CARD:4111 1111 1111 1111"}},
		{"pay with 5500-0000-0000-0004", []string{"CREDIT_CARD:5500-0000-0000-0004"}},
		{"amex 378282246310005", []string{"CREDIT_CARD:378282246310005"}},
		{"order 4111111111111112 shipped", nil},                              // fails Luhn
		{"tracking 41111111111111111234", nil},                               // inside a longer digit run
		{"0000 0000 0000 0000", nil},                                         // all the same digit
		{"4111-1111 1111-1111", []string{"CREDIT_CARD:4111-1111 1111-1111"}}, // mixed separators, grouped as cards are
		{"4111-11 111111-1111", nil},                                         // mixed, and grouped as no card is
		{"id 1234567812345670", []string{}},                                  // Luhn-valid, no network: below threshold without context
		{"my credit card is 1234567812345670", []string{"CREDIT_CARD:1234567812345670"}},
		// IBAN
		{"IBAN DE89 3704 0044 0532 0130 00 please", []string{"IBAN:DE89 3704 0044 0532 0130 00"}},
		{"GB82WEST12345698765432", []string{"IBAN:GB82WEST12345698765432"}},
		{"GB82WEST12345698765433", nil}, // mod-97 fails
		{"DE89370400440532013", nil},    // too short for DE
		// US SSN / ITIN
		{"SSN: 536-22-1234", []string{"US_SSN:536-22-1234"}},
		{"ssn 536221234", []string{"US_SSN:536221234"}},
		{"ref 536221234", nil},                                   // bare nine digits, no context
		{"666-12-3456 000-12-3456 123-00-4567 123-45-0000", nil}, // invalid areas, group, serial
		{"078-05-1120", nil},                                     // the Woolworth wallet number
		{"ITIN 912-70-1234", []string{"US_ITIN:912-70-1234"}},
		{"912-40-1234", nil}, // 9xx with a group no ITIN has
		// UK
		{"NI number AB 12 34 56 C", []string{"UK_NINO:AB 12 34 56 C"}},
		{"QQ123456C", nil}, // Q is never a first letter
		{"GB123456A", nil}, // GB is not allocated
		{"NHS number 943 476 5919", []string{"UK_NHS:943 476 5919"}},
		{"NHS number 943 476 5918", nil}, // mod-11 fails
		// phones
		{"call +44 20 7946 0958", []string{"PHONE:+44 20 7946 0958"}},
		{"reach me at (415) 555-2671", []string{"PHONE:(415) 555-2671"}},
		{"Tel. 030 12345678", []string{"PHONE:030 12345678"}},
		{"appelez le 01 23 45 67 89", []string{"PHONE:01 23 45 67 89"}},
		{"mobile 98765 43210", []string{"PHONE:98765 43210"}},
		{"+91 98765 43210", []string{"PHONE:+91 98765 43210"}},
		{"+1 415 555 2671", []string{"PHONE:+1 415 555 2671"}},
		{"UK mobile 07700 900123", []string{"PHONE:07700 900123"}},
		{"released on 2024-01-15 at 10:30", nil},
		{"version 1.2.3 build 4567", nil},
		{"invoice 1234567", nil},
		// IP and MAC
		{"server at 192.168.10.4 is down", []string{"IP_ADDRESS:192.168.10.4"}},
		{"256.1.1.1 and 1.2.3.4.5", nil},
		{"upgrade to version 1.2.3.4", nil},
		{"host 2001:db8::8a2e:370:7334 answers", []string{"IP_ADDRESS:2001:db8::8a2e:370:7334"}},
		{"std::vector<int> and 12:30:45", nil},
		{"MAC 00:1A:2B:3C:4D:5E", []string{"MAC_ADDRESS:00:1A:2B:3C:4D:5E"}},
		{"00:1A-2B:3C:4D:5E", nil},
		// wallets
		{"send BTC to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", []string{"CRYPTO_WALLET:1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"}},
		{"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", nil}, // checksum fails
		{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", []string{"CRYPTO_WALLET:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}},
		{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx", nil},
		{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", []string{"CRYPTO_WALLET:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}},
		{"0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed", nil}, // EIP-55 fails
		// URLs with credentials
		{"clone https://deploy:s3cr3t@git.example.com/repo.git", []string{"URL_CREDENTIALS:https://deploy:s3cr3t@git.example.com/repo.git"}},
		{"see https://example.com/a@b", nil},
		// dates of birth need context
		{"I was born on 12/03/1985 in Leeds", []string{"DATE_OF_BIRTH:12/03/1985"}},
		{"DOB: March 12, 1985", []string{"DATE_OF_BIRTH:March 12, 1985"}},
		{"the meeting is on 12/03/2025", nil},
		{"born 45/13/1985", nil},
	}
	for _, tt := range tests {
		got := found(tt.text)
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q:\n got %q\nwant %q", tt.text, got, tt.want)
		}
	}
}

// TestEvasion: what normalisation must see through.
func TestEvasion(t *testing.T) {
	for _, text := range []string{
		"card ４１１１ １１１１ １１１１ １１１１",                     // fullwidth digits
		"card 4111\u200b1111\u200b1111\u200b1111",      // zero-width spaces
		"card 4111\u00a01111\u00a01111\u00a01111",      // no-break spaces
		"card 4111\u20601111 1111\u200d1111",           // word joiner, ZWJ
		"card 4111  1111\t1111   1111",                 // odd spacing
		"card 41\U000e0041\U000e004211 1111 1111 1111", // a tag character inside
	} {
		got := found(text)
		if len(got) != 1 || got[0][:len("CREDIT_CARD")] != "CREDIT_CARD" {
			t.Errorf("%q: got %q, want one card", text, got)
		}
	}
	if got := found("mail ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ"); len(got) != 1 {
		t.Errorf("fullwidth email: got %q", got)
	}
}

// TestSeparatorsAndDigits is the red team's class: numbers written with
// any one separator between their groups, with mixed separators, or in
// the digits of other scripts.
func TestSeparatorsAndDigits(t *testing.T) {
	arabic := func(s string) string { return shiftDigits(s, '٠') }
	persian := func(s string) string { return shiftDigits(s, '۰') }
	devanagari := func(s string) string { return shiftDigits(s, '०') }
	for _, c := range []struct {
		text, entity string
	}{
		{"card 4111.1111.1111.1111", CreditCard},
		{"card 4111/1111/1111/1111", CreditCard},
		{"card 4111_1111_1111_1111", CreditCard},
		{"card 4111\n1111\n1111\n1111", CreditCard},
		{"card 4111x1111x1111x1111", CreditCard},
		{"card 4111 - 1111 - 1111 - 1111", CreditCard},
		{"card 4111:1111:1111:1111", CreditCard},
		{"card 4111-1111.1111/1111", CreditCard},
		{"card 3782-822463.10005", CreditCard},
		{"card " + arabic("4111 1111 1111 1111"), CreditCard},
		{"card " + persian("4111-1111-1111-1111"), CreditCard},
		{"card " + devanagari("4111111111111111"), CreditCard},
		{"ref 77, 4111 1111 1111 1111", CreditCard},
		{"IBAN DE89.3704.0044.0532.0130.00", IBAN},
		{"IBAN DE89/3704/0044/0532/0130/00", IBAN},
		{"IBAN DE89_3704_0044_0532_0130_00", IBAN},
		{"IBAN DE89\n3704\n0044\n0532\n0130\n00", IBAN},
		{"IBAN DE89-3704 0044.0532/0130_00", IBAN},
		{"IBAN GB82 WEST 1234 5698 7654 32", IBAN},
		{"IBAN DE" + arabic("89 3704 0044 0532 0130 00"), IBAN},
		{"SSN 536.22.1234", USSSN},
		{"SSN 536/22/1234", USSSN},
		{"SSN 536_22_1234", USSSN},
		{"SSN 536x22x1234", USSSN},
		{"SSN 536\n22\n1234", USSSN},
		{"SSN 536-22.1234", USSSN},
		{"SSN " + devanagari("536-22-1234"), USSSN},
		{"SSN " + persian("536 22 1234"), USSSN},
		{"NHS number 943.476.5919", UKNHS},
		{"NHS number 943/476/5919", UKNHS},
	} {
		got := found(c.text)
		ok := false
		for _, g := range got {
			ok = ok || strings.HasPrefix(g, c.entity+":")
		}
		if !ok {
			t.Errorf("%q: got %q, want %s", c.text, got, c.entity)
		}
	}
}

// TestSeparatorHardNegatives: the looser separators must not turn
// ordinary numbers into personal data.
func TestSeparatorHardNegatives(t *testing.T) {
	for _, text := range []string{
		"released 2024-01-15 10:30:45.123456 UTC",
		"versions 1.2.3, 4.5.6 and 7.8.9.10",
		"timestamps 1700000000 1700000060 1700000120",
		"ISBN 978-0-306-40615-7",
		"order 4111111111111112 shipped",
		"the list: 12, 34, 56, 78, 90, 12, 34, 56",
		"uuid 123e4567-e89b-12d3-a456-426614174000",
		"matrix 1x2x3x4x5x6x7x8x9x1x2x3",
		"resolution 1920x1080 and 3840x2160 at 60/120/144 Hz",
		"call 415.555.2671 tomorrow",
		"coordinates 51.5074, -0.1278 and 40.7128, -74.0060",
		"hash 5d41402abc4b2a76b9719d911017c592",
		"dimensions 536 x 22 x 1234 mm",
		"pages 536-22 of volume 1234",
		"mixed 4111 11.11 1111-1111",
	} {
		for _, g := range found(text) {
			if strings.HasPrefix(g, CreditCard) || strings.HasPrefix(g, USSSN) || strings.HasPrefix(g, IBAN) || strings.HasPrefix(g, UKNHS) {
				t.Errorf("%q: found %s", text, g)
			}
		}
	}
}

// shiftDigits rewrites the ASCII digits of s in the script whose zero is
// zero.
func shiftDigits(s string, zero rune) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return zero + r - '0'
		}
		return r
	}, s)
}
