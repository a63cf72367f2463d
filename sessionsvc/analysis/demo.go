package analysis

import _ "embed"

// DemoCSV is a synthetic data set of 2,000 customer comments about the fiber
// service, in Paraguayan Spanish with some jopara and English: the file the
// workspace offers as "load demo data" when it is empty, and the tests' data.
// It is CSV with the header comentario,rating,fecha,ciudad (UTF-8, comma
// separated, quoted where needed): ratings 1 to 5 loosely agreeing with the
// text, dates YYYY-MM-DD over the twelve months to 2026-11-26, cities of
// Paraguay, and a few empty cells. It was written for this project by a
// generator in the package's tests, not taken from real customers.
//
//go:embed testdata/demo_comments.csv
var DemoCSV []byte
