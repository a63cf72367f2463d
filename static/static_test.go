package static

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func newAssets(t *testing.T) *Assets {
	t.Helper()
	a, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func hashOf(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:10]
}

func TestPath(t *testing.T) {
	a := newAssets(t)
	tests := []struct {
		name string
		want string
	}{
		{"app.css", "/static/app." + hashOf(t, "app.css") + ".css"},
		{"app.js", "/static/app." + hashOf(t, "app.js") + ".js"},
		{"vendor/htmx.min.js", "/static/vendor/htmx.min." + hashOf(t, "vendor/htmx.min.js") + ".js"},
		{"vendor/htmx-ext-sse.js", "/static/vendor/htmx-ext-sse." + hashOf(t, "vendor/htmx-ext-sse.js") + ".js"},
		{"vendor/LICENSE.htmx", "/static/vendor/LICENSE." + hashOf(t, "vendor/LICENSE.htmx") + ".htmx"},
		// Unknown names keep their plain URL (which then 404s).
		{"missing.css", "/static/missing.css"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Path(tt.name); got != tt.want {
				t.Errorf("Path(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestPathShape(t *testing.T) {
	a := newAssets(t)
	re := regexp.MustCompile(`^/static/app\.[0-9a-f]{10}\.css$`)
	if got := a.Path("app.css"); !re.MatchString(got) {
		t.Errorf("Path(app.css) = %q, want match %s", got, re)
	}
}

func get(t *testing.T, a *Assets, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "http://example.test/", nil)
	// Set the path directly so traversal attempts reach the handler unnormalised,
	// as they would from a raw client.
	req.URL.Path = target
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	return rec
}

func TestServeCaching(t *testing.T) {
	a := newAssets(t)
	css, err := os.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		path      string
		wantCache string
		wantType  string
	}{
		{"hashed css", a.Path("app.css"), "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		{"hashed js", a.Path("app.js"), "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"hashed vendor js", a.Path("vendor/htmx.min.js"), "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"plain css", "/static/app.css", "no-cache", "text/css; charset=utf-8"},
		{"plain license", "/static/vendor/LICENSE.htmx", "no-cache", "text/plain; charset=utf-8"},
		{"prefix stripped", strings.TrimPrefix(a.Path("app.css"), "/static"), "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		{"prefix stripped no slash", "app.css", "no-cache", "text/css; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, a, http.MethodGet, tt.path, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: status %d, want 200", tt.path, rec.Code)
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.wantCache)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if got := rec.Header().Get("ETag"); !regexp.MustCompile(`^"[0-9a-f]{10}"$`).MatchString(got) {
				t.Errorf("ETag = %q, want a quoted 10-hex hash", got)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}

	rec := get(t, a, http.MethodGet, a.Path("app.css"), nil)
	if rec.Body.String() != string(css) {
		t.Errorf("body of app.css differs from the file on disk")
	}
}

func TestServeConditional(t *testing.T) {
	a := newAssets(t)
	first := get(t, a, http.MethodGet, "/static/app.js", nil)
	etag := first.Header().Get("ETag")
	rec := get(t, a, http.MethodGet, "/static/app.js", map[string]string{"If-None-Match": etag})
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status %d, want 304", etag, rec.Code)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("304 carried a body of %d bytes", rec.Body.Len())
	}
}

func TestServeHead(t *testing.T) {
	a := newAssets(t)
	rec := get(t, a, http.MethodHead, a.Path("app.css"), nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: status %d body %d bytes, want 200 and empty", rec.Code, rec.Body.Len())
	}
}

func TestServeMethodNotAllowed(t *testing.T) {
	a := newAssets(t)
	rec := get(t, a, http.MethodPost, a.Path("app.css"), nil)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rec.Code)
	}
	if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow = %q, want %q", got, "GET, HEAD")
	}
}

func TestServeNotFound(t *testing.T) {
	a := newAssets(t)
	hashed := a.Path("app.css")
	stale := regexp.MustCompile(`\.[0-9a-f]{10}\.`).ReplaceAllString(hashed, ".0000000000.")
	paths := []string{
		"/static/",
		"/static",
		"",
		"/static/missing.css",
		"/static/vendor",
		"/static/vendor/",
		"/static/.",
		"/static/static.go",
		"/static/static_test.go",
		"/static/vendor.sh",
		"/static/VENDOR.md",
		stale,
		"/static/APP.CSS",
		"/static/app.css/",
		"/static/./app.css",
		"/static//app.css",
		"/static/vendor/../app.css",
		"/static/../static/app.css",
		"/static/../../etc/passwd",
		"/static/..%2fstatic.go",
		"/static/vendor/..%2f..%2fstatic.go",
		"/static/%2e%2e/static.go",
		"/static/..\\static.go",
		"/etc/passwd",
		"/static/app.css\x00.js",
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			rec := get(t, a, http.MethodGet, p, nil)
			if rec.Code != http.StatusNotFound {
				t.Errorf("GET %q: status %d, want 404", p, rec.Code)
			}
			if cc := rec.Header().Get("Cache-Control"); strings.Contains(cc, "immutable") {
				t.Errorf("GET %q: 404 cached as immutable (%q)", p, cc)
			}
		})
	}
}

// TestEmbedsOnlyAssets guards against shipping build files to browsers.
func TestEmbedsOnlyAssets(t *testing.T) {
	a := newAssets(t)
	for name := range a.byName {
		switch {
		case strings.HasSuffix(name, ".go"), strings.HasSuffix(name, ".sh"), strings.HasSuffix(name, ".md"),
			strings.Contains(name, "node_modules"):
			t.Errorf("embedded %q, which is not a browser asset", name)
		}
	}
	for _, want := range []string{"app.css", "app.js", "vendor/htmx.min.js", "vendor/htmx-ext-sse.js", "vendor/LICENSE.htmx", "vendor/LICENSE.htmx-ext-sse"} {
		if _, ok := a.byName[want]; !ok {
			t.Errorf("%q is not embedded", want)
		}
	}
}

// TestVendoredHTMXVersion pins the 2.0.x line: an accidental re-vendor of 4.x
// would silently change the API every page uses.
func TestVendoredHTMXVersion(t *testing.T) {
	b, err := os.ReadFile("vendor/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`version:"2\.0\.\d+"`).Match(b) {
		t.Errorf("vendor/htmx.min.js is not htmx 2.0.x")
	}
}
