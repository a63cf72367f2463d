package views

import (
	"strconv"
	"time"
)

// lasted is a session's length for people: 45 s, 12 min, 3 h 5 min.
func lasted(from, to time.Time) string {
	if from.IsZero() || to.Before(from) {
		return "—"
	}
	d := to.Sub(from).Round(time.Second)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if m == 0 {
		return strconv.Itoa(h) + " h"
	}
	return strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min"
}
