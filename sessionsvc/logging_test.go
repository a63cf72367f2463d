package sessionsvc

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoggerFormat(t *testing.T) {
	tests := []struct {
		format     string
		isTerminal bool
		wantJSON   bool
	}{
		{LogFormatAuto, false, true},
		{LogFormatAuto, true, false},
		{"", false, true},
		{"", true, false},
		{LogFormatJSON, true, true},
		{LogFormatJSON, false, true},
		{LogFormatText, false, false},
		{LogFormatText, true, false},
		{"xml", true, true},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		log := NewLogger(&buf, tt.format, tt.isTerminal)
		log.Info("hello", "sid", "abc")
		log.Debug("hidden")
		out := buf.String()
		if strings.Contains(out, "hidden") {
			t.Errorf("NewLogger(%q, %v) logs DEBUG", tt.format, tt.isTerminal)
		}
		var m map[string]any
		isJSON := json.Unmarshal([]byte(out), &m) == nil
		if isJSON != tt.wantJSON {
			t.Errorf("NewLogger(%q, %v) wrote %q, want JSON %v", tt.format, tt.isTerminal, out, tt.wantJSON)
			continue
		}
		if isJSON && (m["msg"] != "hello" || m["sid"] != "abc" || m["level"] != "INFO") {
			t.Errorf("NewLogger(%q, %v) wrote %v", tt.format, tt.isTerminal, m)
		}
		if !isJSON && !strings.Contains(out, "msg=hello sid=abc") {
			t.Errorf("NewLogger(%q, %v) wrote %q, want text", tt.format, tt.isTerminal, out)
		}
	}
}

func TestLoggerIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("IsTerminal(regular file) = true")
	}
	if IsTerminal(nil) {
		t.Error("IsTerminal(nil) = true")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(w) {
		t.Error("IsTerminal(pipe) = true")
	}
	closed, err := os.Create(filepath.Join(t.TempDir(), "closed"))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if IsTerminal(closed) {
		t.Error("IsTerminal(closed file) = true")
	}
	if tty, err := os.Open("/dev/tty"); err == nil { // absent without a controlling terminal
		defer tty.Close()
		if !IsTerminal(tty) {
			t.Error("IsTerminal(/dev/tty) = false")
		}
	}
}
