package analysis

import "testing"

func TestSentiment(t *testing.T) {
	b := New()
	tests := []struct {
		text string
		want Sentiment
	}{
		// Plain opinions.
		{"todo bien", Positive},
		{"normal", Neutral},
		{"Excelente servicio", Positive},
		{"malísimo el servicio", Negative},
		{"El internet es un desastre", Negative},
		{"una porquería, no lo recomiendo", Negative},
		{"el técnico vino puntual, excelente", Positive},
		{"se corta a cada rato", Negative},
		{"anda re bien", Positive},
		{"re lento todo el día", Negative},
		{"Muy buena la velocidad", Positive},
		{"buenas tardes, quería consultar por los planes", Neutral},
		{"Bueno, el técnico vino ayer", Neutral},
		{"anda más o menos", Neutral},
		{"Cambié de plan el mes pasado", Neutral},
		{"¿Cuándo llega la fibra a Limpio?", Neutral},
		{"buenísimo!!!", Positive},
		{"carísimo para lo que ofrecen", Negative},
		{"LENTOOOO", Negative},
		{"Exelente atencion del tecnico", Positive},
		// Negation.
		{"no funciona", Negative},
		{"no funciona bien desde ayer", Negative},
		{"no anda nada", Negative},
		{"nada lento", Positive},
		{"no es malo", Positive},
		{"no es caro", Positive},
		{"nunca falla", Positive},
		{"nunca tuve problemas", Positive},
		{"sin cortes en todo el mes", Positive},
		{"ni rápido ni barato", Negative},
		{"no me gusta", Negative},
		{"no es muy bueno que digamos", Negative},
		{"tres días sin internet", Negative},
		{"no tengo quejas", Positive},
		{"No vino el técnico y nadie responde", Negative},
		{"no es rápido, pero es estable", Positive},
		// Contrast.
		{"era bueno pero ahora es un desastre", Negative},
		{"tuve un problema pero lo resolvieron rápido", Positive},
		// Paraguayan usage and jopara.
		{"la pucha, otra vez sin señal", Negative},
		{"vaí la atención", Negative},
		{"iporã la fibra", Positive},
		{"porã pio, anda joya", Positive},
		{"de lujo el servicio, kapo los técnicos", Positive},
		{"nde vai, tuicha problema con el router", Negative},
		{"ndaipori internet desde ayer", Negative},
		{"se hacen los ñembotavy con el reclamo", Negative},
		{"lastimosamente se cae a cada rato", Negative},
		// English.
		{"great speed, never had outages", Positive},
		{"the service is slow and support is useless", Negative},
		{"not bad", Positive},
		// Emoji.
		{"👍👍", Positive},
		{"otra vez sin wifi 😡", Negative},
		{"anda bien 👍🏽", Positive},
	}
	for _, tt := range tests {
		got, score := b.Classify(tt.text, 0)
		if got != tt.want {
			t.Errorf("Classify(%q) = %s (%.3f), want %s", tt.text, got, score, tt.want)
		}
	}
}
