package sessionsvc

import (
	"encoding/json"
	"testing"
	"time"
)

func rawValues(t *testing.T, kv map[string]string) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for k, v := range kv {
		out[k] = json.RawMessage(v)
	}
	return out
}

// TestRecoveryWork checks what the resume page is told a session's work is:
// the datasets and the last analysis as the workspace writes them, and
// whatever can be read of values written by hand.
func TestRecoveryWork(t *testing.T) {
	at := time.Date(2026, 7, 3, 14, 5, 0, 0, time.UTC)
	stamp, _ := json.Marshal(at)

	t.Run("as the workspace writes it", func(t *testing.T) {
		ud := rawValues(t, map[string]string{
			"uploaded_files": `[{"id":"AAAAAAAAAAAA","name":"julio.csv","bytes":10,"comments":1987,"uploaded_at":` + string(stamp) + `},
				{"id":"BBBBBBBBBBBB","name":"agosto.csv","comments":3}]`,
			"analysis_history": `[{"id":"x","dataset_name":"viejo.csv","status":"done"}]`,
		})
		ad := rawValues(t, map[string]string{
			"current_analysis": `{"id":"y","dataset":"AAAAAAAAAAAA","dataset_name":"julio.csv","status":"done","comments":1987,` +
				`"queued_at":` + string(stamp) + `,"finished_at":` + string(stamp) + `}`,
		})
		ds, last := recoveryWork(ud, ad)
		if len(ds) != 2 || ds[0] != (RecoveryDataset{"julio.csv", 1987}) || ds[1] != (RecoveryDataset{"agosto.csv", 3}) {
			t.Errorf("datasets = %+v", ds)
		}
		want := RecoveryAnalysis{DatasetName: "julio.csv", Status: StatusDone, Comments: 1987, QueuedAt: at, FinishedAt: at}
		if last == nil || !last.QueuedAt.Equal(at) || !last.FinishedAt.Equal(at) {
			t.Fatalf("last = %+v, want %+v", last, want)
		}
		last.QueuedAt, last.FinishedAt = want.QueuedAt, want.FinishedAt
		if *last != want {
			t.Errorf("last = %+v, want %+v", *last, want)
		}
	})

	t.Run("a run cut off, named by its dataset's id", func(t *testing.T) {
		ud := rawValues(t, map[string]string{"uploaded_files": `[{"id":"AAAAAAAAAAAA","name":"julio.csv","comments":5}]`})
		ad := rawValues(t, map[string]string{"current_analysis": `{"dataset":"AAAAAAAAAAAA","status":"running","queued_at":` + string(stamp) + `}`})
		_, last := recoveryWork(ud, ad)
		if last == nil || last.DatasetName != "julio.csv" || last.Status != StatusRunning || !last.FinishedAt.IsZero() {
			t.Errorf("last = %+v", last)
		}
	})

	t.Run("no current analysis: the newest of the history", func(t *testing.T) {
		ud := rawValues(t, map[string]string{"analysis_history": `[{"dataset_name":"a.csv","status":"done"},{"dataset_name":"b.csv","status":"failed"}]`})
		ad := rawValues(t, map[string]string{"current_analysis": `null`})
		if _, last := recoveryWork(ud, ad); last == nil || last.DatasetName != "b.csv" || last.Status != StatusFailed {
			t.Errorf("last = %+v", last)
		}
	})

	t.Run("written by hand", func(t *testing.T) {
		ud := rawValues(t, map[string]string{
			"uploaded_files": `[{"name":"bien.csv","comments":"muchos"}, "no es un objeto", {"comments":4}, {"name":7},
				{"name":"negativo.csv","comments":-3,"uploaded_at":"ayer"}]`,
		})
		ad := rawValues(t, map[string]string{"current_analysis": `{"dataset_name":"bien.csv","status":"done","queued_at":"ayer","finished_at":"hoy","comments":12.5}`})
		ds, last := recoveryWork(ud, ad)
		if len(ds) != 2 || ds[0] != (RecoveryDataset{"bien.csv", 0}) || ds[1] != (RecoveryDataset{"negativo.csv", 0}) {
			t.Errorf("datasets = %+v", ds)
		}
		if last == nil || last.DatasetName != "bien.csv" || last.Status != StatusDone || !last.QueuedAt.IsZero() || !last.FinishedAt.IsZero() || last.Comments != 0 {
			t.Errorf("last = %+v", last)
		}
		for _, v := range []string{`"texto"`, `[1,2]`, `{"status":5}`, `{}`} {
			ds, last := recoveryWork(rawValues(t, map[string]string{"uploaded_files": v, "analysis_history": v}),
				rawValues(t, map[string]string{"current_analysis": v}))
			if len(ds) != 0 || last != nil {
				t.Errorf("%s: datasets %+v, last %+v; want none", v, ds, last)
			}
		}
		if ds, last := recoveryWork(nil, nil); ds != nil || last != nil {
			t.Errorf("empty state: %+v %+v", ds, last)
		}
	})
}
