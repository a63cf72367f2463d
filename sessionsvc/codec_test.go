package sessionsvc

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

func testMeta() Meta {
	return Meta{
		SID: "ZNi7LHckmKXSUIyxFobPdA", User: "ana", Role: "analyst",
		CreatedAt: 1_790_000_000_000, AuthAt: 1_790_000_000_001, LastActivity: 1_790_000_100_000,
		ExpiresAt: 1_790_001_800_000, IdleAt: 1_790_001_200_000, LifetimeAt: 1_790_043_200_000,
		Fingerprint: "fp-0123456789abcdef", IP: "203.0.113.45", CSRF: "csrf-token-value",
		Theme: "dark", Locale: "es-PY",
	}
}

func TestBlobCodecRoundTrip(t *testing.T) {
	var c blobCodec
	deadline := time.UnixMilli(1_790_001_200_000).UTC()
	for _, values := range []map[string]any{
		{metaKey: testMeta()},
		{metaKey: Meta{SID: "s", User: "u", CreatedAt: -5}, "flash": "Saved ✓", "empty": ""},
	} {
		b, err := c.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != blobV1 {
			t.Errorf("blob begins with %#x, want the version byte", b[0])
		}
		d, got, err := c.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Equal(deadline) || d.Location() != time.UTC || !reflect.DeepEqual(got, values) {
			t.Errorf("round trip: %v %#v, want %v %#v", d, got, deadline, values)
		}
	}
}

// TestBlobCodecReadsJSON: blobs written before the binary form still load.
func TestBlobCodecReadsJSON(t *testing.T) {
	m := testMeta()
	old, err := json.Marshal(jsonBlob{Deadline: 1_790_001_200_000, Meta: &m, Values: map[string]string{"flash": "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	d, got, err := blobCodec{}.Decode(old)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{metaKey: m, "flash": "hi"}
	if d.UnixMilli() != 1_790_001_200_000 || !reflect.DeepEqual(got, want) {
		t.Errorf("JSON blob = %v %#v, want %#v", d, got, want)
	}
}

// TestBlobCodecSkipsUnknownFields: a field of a later version is read past,
// in the blob and in a value.
func TestBlobCodecSkipsUnknownFields(t *testing.T) {
	var c blobCodec
	b, err := c.Encode(time.UnixMilli(1000), map[string]any{metaKey: testMeta()})
	if err != nil {
		t.Fatal(err)
	}
	b = protowire.AppendTag(b, 99, protowire.BytesType)
	b = protowire.AppendString(b, "later")
	b = protowire.AppendTag(b, 100, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 7)
	var v []byte
	v = protowire.AppendTag(v, blobValueKey, protowire.BytesType)
	v = protowire.AppendString(v, "k")
	v = protowire.AppendTag(v, 9, protowire.VarintType)
	v = protowire.AppendVarint(v, 1)
	b = protowire.AppendTag(b, blobValue, protowire.BytesType)
	b = protowire.AppendBytes(b, v)
	_, got, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got[metaKey] != testMeta() || got["k"] != "" || len(got) != 2 {
		t.Errorf("Decode = %#v", got)
	}
}

func TestBlobCodecRejects(t *testing.T) {
	var c blobCodec
	good, err := c.Encode(time.UnixMilli(1000), map[string]any{metaKey: testMeta(), "a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	wrongType := protowire.AppendTag([]byte{blobV1}, blobSID, protowire.VarintType)
	wrongType = protowire.AppendVarint(wrongType, 1)
	noUser := protowire.AppendTag([]byte{blobV1}, blobSID, protowire.BytesType)
	noUser = protowire.AppendString(noUser, "sid")
	metaValue := protowire.AppendTag(append([]byte(nil), good...), blobValue, protowire.BytesType)
	metaValue = protowire.AppendBytes(metaValue, protowire.AppendString(protowire.AppendTag(nil, blobValueKey, protowire.BytesType), metaKey))
	for name, b := range map[string][]byte{
		"empty":          nil,
		"unknown format": []byte("\x02abc"),
		"truncated":      good[:len(good)-1],
		"wire type":      wrongType,
		"no user":        noUser,
		"value as meta":  metaValue,
		"broken json":    []byte(`{"d":1,"m":`),
		"json no meta":   []byte(`{"d":1}`),
	} {
		d, v, err := c.Decode(b)
		if !errors.Is(err, errCorruptBlob) || v != nil || !d.IsZero() {
			t.Errorf("%s: Decode = %v, %v, %v; want errCorruptBlob", name, d, v, err)
		}
	}
	if _, err := c.Encode(time.Now(), map[string]any{"a": "b"}); err == nil {
		t.Error("Encode without Meta succeeded")
	}
	if _, err := c.Encode(time.Now(), map[string]any{metaKey: testMeta(), "n": 1}); err == nil {
		t.Error("Encode of an int succeeded")
	}
}

// BenchmarkBlobDecode compares the binary blob with the JSON one it replaced
// (decoded on every request):
//
//	go test -run '^$' -bench BlobDecode ./sessionsvc
func BenchmarkBlobDecode(b *testing.B) {
	m := testMeta()
	values := map[string]any{metaKey: m}
	bin, err := blobCodec{}.Encode(time.UnixMilli(1_790_001_200_000), values)
	if err != nil {
		b.Fatal(err)
	}
	js, err := json.Marshal(jsonBlob{Deadline: 1_790_001_200_000, Meta: &m})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		blob []byte
	}{{"binary", bin}, {"json", js}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := (blobCodec{}).Decode(c.blob); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(c.blob)), "bytes")
		})
	}
}
