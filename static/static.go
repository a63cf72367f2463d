// Package static embeds the browser assets (our CSS and JavaScript, and htmx
// vendored from npm) and serves them at content-hashed URLs.
//
// Pages link assets through Assets.Path, which names each file by a hash of its
// content, so a hashed URL can be cached by browsers forever: a new build with a
// changed file gets a new URL. The package serves only the files embedded at
// build time: never the file system, never a directory listing, never a CDN.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// files holds everything a page may load. Build scripts and documentation that
// live next to them (vendor.sh, VENDOR.md, the Go sources) are deliberately not
// embedded.
//
//go:embed app.css app.js vendor
var files embed.FS

// hashLen is how many hex characters of the sha256 digest name a file version.
// 40 bits are plenty to tell versions of one file apart.
const hashLen = 10

// Cache-Control values: hashed URLs never change content, plain URLs may.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNoCache   = "no-cache"
)

// asset is one embedded file, read and hashed once.
type asset struct {
	name        string // path inside the embedded tree, e.g. "vendor/htmx.min.js"
	hashedName  string // e.g. "vendor/htmx.min.2b3c4d5e6f.js"
	contentType string
	etag        string
	body        []byte
}

// Assets serves the embedded files. It is immutable after New and safe for
// concurrent use.
type Assets struct {
	byName   map[string]*asset // plain name -> asset
	byHashed map[string]*asset // hashed name -> asset
}

// New reads and hashes every embedded file. It fails only if the embedded tree
// cannot be read, which means a broken build.
func New() (*Assets, error) {
	a := &Assets{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:hashLen]
		as := &asset{
			name:        name,
			hashedName:  hashedName(name, hash),
			contentType: contentType(name),
			etag:        `"` + hash + `"`,
			body:        body,
		}
		a.byName[name] = as
		a.byHashed[as.hashedName] = as
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static: read embedded assets: %w", err)
	}
	return a, nil
}

// hashedName inserts the hash before the file's extension:
// "vendor/htmx.min.js" -> "vendor/htmx.min.<hash>.js". A name without an
// extension gets the hash appended.
func hashedName(name, hash string) string {
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + hash + ext
}

// contentType is fixed per extension rather than taken from the host's MIME
// tables, so that every machine serves the same headers.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	default:
		// LICENSE files and anything else we embed are text.
		return "text/plain; charset=utf-8"
	}
}

// Path returns the URL of an embedded file with its content hash, e.g.
// Path("app.css") == "/static/app.3f2a1b9c0d.css". For a name that is not
// embedded it returns the plain URL, which then answers 404: a typo shows up as
// a broken asset in the browser and in tests instead of a panic while rendering.
func (a *Assets) Path(name string) string {
	if as, ok := a.byName[name]; ok {
		return "/static/" + as.hashedName
	}
	return "/static/" + name
}

// ServeHTTP serves one embedded file. It accepts the request path with or
// without the "/static/" prefix, so it can be mounted either directly or behind
// http.StripPrefix. Hashed names are cached for a year as immutable; plain names
// are revalidated on every use (ETag). Anything that is not exactly the name of
// an embedded file, including directories, traversal attempts and hashed names
// of an older build, is 404.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/static/")
	if !ok {
		name = strings.TrimPrefix(name, "/")
	}

	// Lookups are exact map hits on names we embedded ourselves, so there is no
	// path to clean and nothing outside the embedded tree can ever be reached.
	as, cache := a.byHashed[name], cacheImmutable
	if as == nil {
		as, cache = a.byName[name], cacheNoCache
	}
	if as == nil {
		http.NotFound(w, r)
		return
	}

	h := w.Header()
	h.Set("Content-Type", as.contentType)
	h.Set("Cache-Control", cache)
	h.Set("ETag", as.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// ServeContent answers If-None-Match, Range and HEAD; a zero modtime
	// leaves Last-Modified out, the ETag is the validator.
	http.ServeContent(w, r, as.name, time.Time{}, bytes.NewReader(as.body))
}
