//go:build !unix

package sqlite

import "time"

// processCPU is not measured outside Unix: benchmarks report zero.
func processCPU() time.Duration { return 0 }
