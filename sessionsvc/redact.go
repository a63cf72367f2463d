package sessionsvc

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Masked replaces the value of a key that looks secret wherever state is shown
// (the console, the command line).
const Masked = "••••••"

// SecretKey reports whether a key's name says its value is a credential. It
// errs on the side of hiding: "monkey" is masked too.
func SecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"password", "token", "secret", "key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// MaskJSON returns raw with the values of secret-looking keys replaced by
// Masked, at any depth. A value that is not JSON (state always is; this is
// defence) is returned as text.
func MaskJSON(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers as written
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // pages escape; \u003c would only confuse the reader
	if err := enc.Encode(maskValue(v)); err != nil {
		return string(raw)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func maskValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if SecretKey(k) {
				t[k] = Masked
			} else {
				t[k] = maskValue(x)
			}
		}
	case []any:
		for i, x := range t {
			t[i] = maskValue(x)
		}
	}
	return v
}
