package sessionsvc

import (
	"errors"
	"strings"
	"testing"
)

// knownArgon2id is the argon2id test vector of the reference implementation
// (phc-winner-argon2, src/test.c): password "password", salt "somesalt",
// m=65536, t=2, p=1.
const knownArgon2id = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

func TestPasswordKnownVector(t *testing.T) {
	t.Parallel() // argon2 is slow under -race
	if err := ValidPasswordHash(knownArgon2id); err != nil {
		t.Fatalf("ValidPasswordHash(known vector) = %v, want nil", err)
	}
	for _, tc := range []struct {
		password string
		want     bool
	}{
		{"password", true},
		{"Password", false},
		{"", false},
	} {
		got, err := VerifyPassword(knownArgon2id, tc.password)
		if err != nil || got != tc.want {
			t.Errorf("VerifyPassword(known vector, %q) = %v, %v; want %v, nil", tc.password, got, err, tc.want)
		}
	}
}

func TestPasswordHashRoundTrip(t *testing.T) {
	t.Parallel() // argon2 is slow under -race
	h1, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("HashPassword = %q, want the $argon2id$v=19$m=19456,t=2,p=1$ prefix", h1)
	}
	if err := ValidPasswordHash(h1); err != nil {
		t.Errorf("ValidPasswordHash(HashPassword()) = %v", err)
	}
	if ok, err := VerifyPassword(h1, "correct horse"); !ok || err != nil {
		t.Errorf("VerifyPassword(right password) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := VerifyPassword(h1, "correct horse "); ok || err != nil {
		t.Errorf("VerifyPassword(wrong password) = %v, %v; want false, nil", ok, err)
	}
	h2, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if h1 == h2 {
		t.Errorf("two hashes of one password are equal (%q): the salt is not random", h1)
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("HashPassword(\"\") succeeded, want an error")
	}
}

func TestPasswordMalformedHashes(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	tests := []struct {
		name, hash, want string
	}{
		{"empty", "", "empty"},
		{"plain text", "admin-demo-pass", "not a PHC string"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", `algorithm "2a", want argon2id`},
		{"argon2i", "$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + key, `algorithm "argon2i"`},
		{"too few fields", "$argon2id$v=19$m=65536,t=2,p=1$" + salt, "want 5 fields"},
		{"too many fields", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + key + "$x", "want 5 fields"},
		{"old version", "$argon2id$v=16$m=65536,t=2,p=1$" + salt + "$" + key, `version "v=16"`},
		{"params out of order", "$argon2id$v=19$t=2,m=65536,p=1$" + salt + "$" + key, "parameters must be exactly"},
		{"extra param", "$argon2id$v=19$m=65536,t=2,p=1,keyid=x$" + salt + "$" + key, "parameters must be exactly"},
		{"param not a number", "$argon2id$v=19$m=lots,t=2,p=1$" + salt + "$" + key, "parameter m"},
		{"negative param", "$argon2id$v=19$m=65536,t=-2,p=1$" + salt + "$" + key, "parameter t"},
		{"leading zero", "$argon2id$v=19$m=065536,t=2,p=1$" + salt + "$" + key, "parameter m"},
		{"param overflows uint32", "$argon2id$v=19$m=99999999999,t=2,p=1$" + salt + "$" + key, "parameter m"},
		{"absurd memory", "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key, "m=4194304"},
		{"memory below 8p", "$argon2id$v=19$m=8,t=2,p=4$" + salt + "$" + key, "m=8"},
		{"absurd time", "$argon2id$v=19$m=65536,t=1000,p=1$" + salt + "$" + key, "t=1000"},
		{"zero time", "$argon2id$v=19$m=65536,t=0,p=1$" + salt + "$" + key, "t=0"},
		{"absurd lanes", "$argon2id$v=19$m=65536,t=2,p=255$" + salt + "$" + key, "p=255"},
		{"zero lanes", "$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + key, "p=0"},
		{"salt not base64", "$argon2id$v=19$m=65536,t=2,p=1$so*salty$" + key, "salt is not"},
		{"padded salt", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$" + key, "salt is not"},
		{"short salt", "$argon2id$v=19$m=65536,t=2,p=1$YWJj$" + key, "salt is 3 bytes"},
		{"hash not base64", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$not-base64!", "hash is not"},
		{"short hash", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$YWJjZGVm", "hash is 6 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidPasswordHash(tc.hash)
			if err == nil || !errors.Is(err, ErrMalformedHash) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ValidPasswordHash = %v, want ErrMalformedHash mentioning %q", err, tc.want)
			}
			// VerifyPassword refuses before running argon2: the absurd
			// parameters above would otherwise take minutes or gigabytes.
			ok, err := VerifyPassword(tc.hash, "password")
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("VerifyPassword = %v, %v; want false, ErrMalformedHash", ok, err)
			}
		})
	}
}
