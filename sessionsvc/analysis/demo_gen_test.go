package analysis

// The generator of testdata/demo_comments.csv: synthetic comments written for
// this project, composed from hand-written fragments with a seeded PCG, so the
// same code always makes the same file. Change it, then run
//
//	go test ./sessionsvc/analysis -run TestDemoData -update
//
// and commit the file; TestDemoData fails while the two disagree.

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	demoRows = 2000
	demoSeed = 20261126
)

// demoEnd is the last day of the demo data's twelve months.
var demoEnd = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

// demoComment is a generated comment and the sentiment it was written with.
type demoComment struct {
	text   string
	rating int // 0: empty cell
	date   string
	city   string
	intent Sentiment
}

type fragments struct{ pos, neg []string }

// Theme fragments, by the theme key they were written for. Placeholders in
// braces are filled in by fill.
var demoThemes = map[string]fragments{
	"speed": {
		pos: []string{
			"La velocidad es excelente, siempre llegan los {megas} megas.",
			"Anda volando, veo {app} en 4K sin problema.",
			"Re rápido, el speedtest da más de lo contratado.",
			"Cero lag para jugar {game}, un lujo.",
			"Muy buena velocidad incluso a la noche.",
			"Bajé un juego de 80 GB en un rato, impresionante.",
			"El internet vuela, nada que ver con lo que tenía antes.",
			"Velocidad estable todo el día, {megas} megas reales.",
			"Trabajo desde casa y nunca tuve problemas de velocidad.",
			"La velocidad porã, tal cual dice el plan.",
			"Ping bajísimo, joya para jugar {game}.",
			"Subida y bajada parejas, excelente para hacer streaming.",
			"Rapidísimo, {pers} juega y yo veo {app} al mismo tiempo sin drama.",
			"Nada lento, anda bien hasta en hora pico.",
			"Pasé de 10 megas a {megas} y es otra vida, genial.",
			"Las descargas son rapidísimas.",
			"Muy conforme con la velocidad, hasta en el celular se nota.",
			"Contraté {megas} megas y el test marca {megas} clavado, kapo.",
		},
		neg: []string{
			"La velocidad es pésima, pago {megas} megas y no llega ni a {low}.",
			"Re lento anda el internet a la noche.",
			"Contraté {megas} megas y el speedtest marca {low}.",
			"Imposible ver {app}, todo el tiempo cargando.",
			"Ping alto todo el tiempo, no se puede jugar {game}.",
			"A la noche la velocidad baja muchísimo, no sirve.",
			"Lentísimo desde hace {n} semanas.",
			"Nde, qué lento que anda.",
			"Las descargas tardan una eternidad, malísimo.",
			"Para trabajar desde casa es un desastre, se traba todo en Zoom.",
			"Lag todo el tiempo en {game}.",
			"No llega ni a la mitad de los megas que pago.",
			"Anda a paso de tortuga 🐢",
			"La subida es malísima, no puedo mandar ni un video.",
			"En las videollamadas se congela la imagen, un asco.",
			"Dicen {megas} megas pero es japu, no pasa de {low}.",
			"Cada vez más lento, ya no sé qué hacer.",
			"Pagamos por fibra y anda peor que el ADSL que teníamos.",
			"El wifi anda lento en toda la casa.",
			"Velocidad vai, {app} no carga ni en calidad baja.",
		},
	},
	"outages": {
		pos: []string{
			"En {n} meses nunca se cortó.",
			"Muy estable, sin cortes ni caídas.",
			"Nunca tuve un corte, ni cuando llueve.",
			"Cero cortes desde que me pasé a la fibra.",
			"La conexión es súper estable, trabajo desde casa sin drama.",
			"Estabilidad impecable, ni un solo corte en el año.",
			"Desde la instalación no se cayó nunca.",
			"Nunca falla, ni en los días de tormenta.",
			"Estable como ninguna, oiko porã.",
			"Antes con la otra empresa se cortaba siempre, acá nunca.",
			"Hubo un corte por la tormenta pero volvió enseguida, bien ahí.",
		},
		neg: []string{
			"Se corta a cada rato, así no se puede trabajar.",
			"Ya van {n} días sin internet y nadie me da una solución.",
			"Todas las noches se cae la conexión a eso de las {hora}.",
			"Cortes intermitentes todo el día, la luz del router se pone roja.",
			"Cada vez que llueve nos quedamos sin servicio.",
			"Estuvimos todo el fin de semana sin internet.",
			"La conexión es muy inestable, se desconecta sola.",
			"Se cayó el servicio en todo {barrio} y tardaron {n} días en volver.",
			"Desde el {dia} no anda, ndaipori internet.",
			"Se corta justo en medio de las clases virtuales de {pers}.",
			"Micro cortes todo el tiempo, el {app} se queda colgado.",
			"Otra vez sin conexión, es la tercera vez esta semana.",
			"No funciona desde ayer a la siesta.",
			"Intermitente todo el día, la pucha.",
			"Cada dos por tres se cae, una vergüenza.",
			"Cuando hay tormenta se corta sí o sí.",
			"El servicio se cae todas las tardes a la hora de la siesta.",
			"{n} cortes en una semana, no puede ser.",
		},
	},
	"installation": {
		pos: []string{
			"El técnico vino puntual y dejó todo prolijo.",
			"La instalación fue rapidísima, en una hora ya tenía internet.",
			"Los técnicos muy amables, me explicaron todo.",
			"Excelente instalación, el cableado quedó impecable.",
			"Me instalaron al día siguiente de pedir, de lujo.",
			"El técnico muy guapo, configuró el wifi en todos los cuartos.",
			"Me cambiaron el router sin costo y ahora anda joya.",
			"Instalación prolija y rápida, 10 puntos.",
			"Vinieron el mismo día que agendé, muy profesionales.",
			"El técnico un capo, resolvió todo en diez minutos.",
			"Pusieron un repetidor y ahora llega el wifi al patio, excelente.",
		},
		neg: []string{
			"El técnico no vino el día que agendaron.",
			"Me dejaron plantado dos veces esperando la instalación.",
			"Hace {n} semanas espero la instalación y nada.",
			"Los técnicos dejaron los cables tirados por toda la casa, un desastre.",
			"Instalaron el router en cualquier lugar y el wifi no llega al dormitorio.",
			"Vino el técnico sin el equipo y se fue, una falta de respeto.",
			"Me cambiaron el router y ahora anda peor.",
			"La instalación fue un desastre, hicieron agujeros donde no debían.",
			"Para mudar el servicio tardaron {n} semanas.",
			"El técnico llegó {n} horas tarde y de mal humor.",
			"El módem se reinicia solo, ya pedí el cambio y nada.",
			"Agendaron la visita para el {dia} y nunca vinieron.",
			"El cableado quedó colgando en la vereda, peligroso.",
		},
	},
	"billing": {
		pos: []string{
			"Pagar la factura por la app es fácil y rápido.",
			"El débito automático funciona perfecto.",
			"La factura llega a tiempo y todo bien explicado.",
			"Me devolvieron el cobro de más sin vueltas, excelente.",
			"Nunca tuve problemas con los pagos.",
			"Me hicieron el reembolso en dos días, muy bien.",
			"Facturación clara, sin recargos raros, conforme.",
		},
		neg: []string{
			"Me cobraron dos veces la factura de {mes}.",
			"La factura llega con recargos que nadie explica.",
			"Me debitaron de la tarjeta sin autorización, un abuso.",
			"Pagué a tiempo y me suspendieron igual por falta de pago.",
			"Doble cobro otra vez, ya es un robo.",
			"Me siguen cobrando un servicio que di de baja hace {n} meses.",
			"La factura vino con {monto} Gs de más.",
			"Hice el pago por la app, no se acreditó y me cortaron el servicio.",
			"El débito automático falla todos los meses.",
			"Me cobran la instalación que era gratis según la promo, mentira todo.",
			"No me llega la factura al correo y después me cobran mora.",
			"Me facturaron un router que nunca pedí.",
		},
	},
	"customer_service": {
		pos: []string{
			"La atención por WhatsApp fue rapidísima y me resolvieron todo.",
			"La chica del call center muy amable, me ayudó un montón.",
			"Excelente atención en la sucursal de {city2}.",
			"Reclamé por la velocidad y en un día lo solucionaron.",
			"El operador me tuvo paciencia y me explicó todo, muy atento.",
			"Atención de diez, respondieron enseguida.",
			"Me atendieron re bien, muy buena onda.",
			"Soporte técnico eficiente, gracias.",
			"Siempre que escribí por WhatsApp me respondieron rápido.",
			"Muy buena la atención al cliente, resolvieron en el día.",
		},
		neg: []string{
			"La atención al cliente es pésima, nadie responde.",
			"Llamé {n} veces al call center y siempre me cortan.",
			"Por WhatsApp te responde un bot que no entiende nada.",
			"Hice el reclamo hace {n} días y sigo esperando.",
			"Los operadores se hacen los ñembotavy, te pasan de uno a otro.",
			"Te tienen {n} minutos en espera y después se corta la llamada.",
			"Me dieron un número de reclamo y nunca me llamaron, una vergüenza.",
			"En la sucursal te dicen que llames y por teléfono que vayas a la sucursal, ridículo.",
			"Atención vaí, cada operador dice otra cosa.",
			"No tienen idea de nada, te hacen reiniciar el router mil veces.",
			"Respuesta automática y cero solución.",
			"Mala atención, la chica del call center me cortó.",
			"Nadie atiende el 0800 un domingo.",
			"Reclamé {n} veces por lo mismo y nadie se hace cargo, pésimo.",
		},
	},
	"coverage": {
		pos: []string{
			"Por fin llegó la fibra a mi barrio, excelente.",
			"La señal del wifi llega bien a toda la casa.",
			"Ahora tienen cobertura en casi todo {city2}, muy bien.",
			"Buena señal en todo el barrio.",
			"Me sorprendió que la fibra llegue hasta nuestra compañía, porã.",
			"Tienen buena cobertura en {barrio}, recomiendo.",
		},
		neg: []string{
			"En {barrio} todavía no llega la fibra, lastimosamente.",
			"Hace un año que dicen que van a llegar a mi zona y nada.",
			"La señal del wifi no llega al fondo de la casa.",
			"En {city2} la cobertura es malísima.",
			"Me mudé a {barrio} y no hay cobertura, una lástima.",
			"Pedí factibilidad {n} veces y siempre dicen que no hay disponibilidad.",
			"A dos cuadras tienen fibra y en mi calle no llega, qué macana.",
			"En la zona de {barrio} la señal es un desastre.",
		},
	},
	"price": {
		pos: []string{
			"Buen precio por la velocidad que tiene.",
			"La promo de {megas} megas está muy buena.",
			"El plan es barato y anda bien.",
			"Relación precio calidad excelente.",
			"Por {monto} Gs tengo {megas} megas, vale la pena.",
			"No es caro y anda de lujo.",
			"Precio accesible, recomiendo.",
			"El plan familiar sale económico, conforme.",
		},
		neg: []string{
			"Es carísimo para lo que ofrecen.",
			"Subieron la tarifa sin avisar, un abuso.",
			"El plan de {megas} megas cuesta {monto} Gs, un robo.",
			"La promo dura tres meses y después te cobran el doble, engañoso.",
			"Muy caro comparado con la competencia.",
			"Aumentaron el precio y la velocidad sigue igual de mala.",
			"Los planes son caros y no cumplen lo que prometen.",
			"Por {monto} Gs al mes esperaba mucho más, decepcionado.",
			"Precio exagerado para el servicio que dan.",
		},
	},
}

// Comments about the service as a whole.
var demoGeneral = fragments{
	pos: []string{
		"Excelente servicio, lo recomiendo.",
		"Muy conforme con Personal.",
		"Todo bien hasta ahora.",
		"Estoy muy contento con la fibra.",
		"Lo mejor que contraté en años.",
		"Servicio de lujo.",
		"Iporã la fibra de Personal.",
		"Sin quejas.",
		"Un lujo, sigan así.",
		"{pers} está feliz, anda todo perfecto.",
		"Buenísimo el servicio.",
		"Joya todo.",
		"Re contento, nada que reclamar.",
		"Excelente 👍",
		"Muy buen servicio, gracias Personal.",
	},
	neg: []string{
		"Pésimo servicio.",
		"Un desastre total.",
		"Estoy harto de este servicio.",
		"Nde vai, no lo recomiendo.",
		"Una vergüenza de empresa.",
		"La peor decisión fue cambiarme a Personal.",
		"Me quiero dar de baja ya.",
		"Lastimosamente no es lo que prometieron.",
		"No sirve para nada.",
		"Malísimo todo.",
		"Una porquería, nunca más.",
		"Qué decepción.",
		"Horrible 😡",
		"Cada mes peor.",
	},
}

var demoNeutral = []string{
	"¿Cuándo llega la fibra a {barrio}?",
	"Quisiera saber si hay planes de {megas} megas.",
	"Cambié de plan el mes pasado.",
	"Me mudé y necesito trasladar el servicio a {city2}.",
	"¿Se puede pagar la factura en efectivo?",
	"Consulta: ¿el router viene con wifi 6?",
	"Hoy vino el técnico a revisar la instalación.",
	"Normal, ni bien ni mal.",
	"Uso el internet más que nada para trabajar.",
	"Tengo el plan de {megas} megas desde {mes}.",
	"Es normal, lo básico.",
	"Más o menos, depende del día.",
	"Ni fu ni fa.",
	"Ahí anda.",
	"¿Cuál es el horario de la sucursal de {city2}?",
	"Pido que me llamen al número registrado.",
	"¿Tienen planes para empresas?",
	"Anda como cualquier otro internet.",
	"Sin comentarios.",
	"Hace {n} meses que tengo el servicio.",
	"Lo uso para {app} y para las clases de {pers}.",
	"¿Se puede cambiar la fecha de vencimiento de la factura?",
	"Quiero agregar un repetidor, ¿cuánto cuesta?",
	"El router está en el living, {pers} usa más el wifi.",
}

var demoEnglish = fragments{
	pos: []string{
		"Great service, fast and reliable.",
		"Excellent speed, never had outages.",
		"The technician was on time and very friendly.",
		"Good value for the price.",
		"Works great for gaming, really stable.",
		"Love it, best internet I've had in Paraguay.",
	},
	neg: []string{
		"Terrible customer service, nobody answers.",
		"Internet keeps dropping every night.",
		"Too expensive for such a slow connection.",
		"The technician never showed up, very disappointed.",
		"Worst provider I've ever had.",
		"Slow and unreliable, not worth the money.",
	},
}

var (
	demoOpeners = []string{
		"Hola.", "Buenas.", "Buenas tardes,", "Buen día.", "Che,", "Mirá,", "La verdad,",
		"Sinceramente,", "Les cuento:", "Bueno,", "Nde,", "Mba'éichapa,", "Hola Personal,",
		"Cliente hace {n} años.", "Che ra'a,", "Buenas noches.", "Hola, buen día.",
	}
	demoClosersPos = []string{
		"Recomiendo 100%.", "Gracias Personal!", "Sigan así.", "Aguyje!", "👍", "10 puntos.",
		"Muy conforme.", "😊", "Gracias!", "Saludos.",
	}
	demoClosersNeg = []string{
		"Ya me voy a cambiar de empresa.", "Espero que lo solucionen pronto.", "Nde vai la cosa.",
		"Una vergüenza.", "😡", "Pésimo.", "Quiero dar de baja.", "Ojalá lo arreglen.",
		"Estoy cansado de reclamar.", "Así no se puede.", "😤", "Saludos.",
	}
	demoClosersNeutral = []string{"Gracias.", "Saludos.", "Espero respuesta.", "Aguardo.", "Gracias de antemano."}
	demoBarrios        = []string{
		"Villa Morra", "Sajonia", "Recoleta", "Barrio Obrero", "Trinidad", "San Vicente", "Mburucuyá",
		"Las Mercedes", "Carmelitas", "Loma Pytã", "Zeballos Cué", "Tablada Nueva", "Santa Ana",
		"Ycuá Satí", "Herrera", "Jara", "Bañado Sur", "mi barrio", "la zona de la ruta", "el centro",
	}
	demoApps   = []string{"Netflix", "YouTube", "Zoom", "Teams", "TikTok", "Spotify", "Twitch", "Disney+", "Instagram"}
	demoGames  = []string{"Free Fire", "Fortnite", "Call of Duty", "el FIFA", "Valorant", "online"}
	demoPeople = []string{"mi hijo", "mi hija", "mi señora", "mi marido", "los chicos", "mi mamá", "mi novia"}
	demoDays   = []string{"lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"}
	demoHours  = []string{"8 de la noche", "10 de la noche", "9 de la mañana", "doce", "seis de la tarde"} // after "las"
	demoMonths = []string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
		"septiembre", "octubre", "noviembre", "diciembre"}
	demoMegas  = []int{100, 200, 300, 300, 500, 600, 600, 900, 1000}
	demoAmount = []string{"150.000", "189.000", "210.000", "250 mil", "99.000", "320.000", "175.000"}
)

type weighted struct {
	s string
	w int
}

var demoCities = []weighted{
	{"Asunción", 22}, {"Ciudad del Este", 9}, {"San Lorenzo", 8}, {"Luque", 7}, {"Capiatá", 6},
	{"Lambaré", 6}, {"Fernando de la Mora", 6}, {"Encarnación", 5}, {"Limpio", 4}, {"Ñemby", 4},
	{"Mariano Roque Alonso", 3}, {"Villa Elisa", 3}, {"Itauguá", 3}, {"Caacupé", 2},
	{"Pedro Juan Caballero", 2}, {"Coronel Oviedo", 2}, {"Concepción", 2}, {"Villarrica", 2},
	{"Caaguazú", 2}, {"Pilar", 1}, {"Areguá", 1}, {"Hernandarias", 1}, {"Presidente Franco", 1},
	{"San Antonio", 1},
}

// How themes are picked (speed and outages are most talked about).
var demoThemeWeights = []weighted{
	{"speed", 24}, {"outages", 22}, {"customer_service", 16}, {"installation", 12},
	{"billing", 10}, {"price", 10}, {"coverage", 6},
}

type demoGen struct {
	rng *rand.Rand
	// Per comment, so "pago {megas} ... no llega ni a {low}" agree.
	megas int
}

func pickWeighted(rng *rand.Rand, ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.w
	}
	n := rng.IntN(total)
	for _, w := range ws {
		if n < w.w {
			return w.s
		}
		n -= w.w
	}
	return ws[len(ws)-1].s
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// fill replaces the placeholders of a fragment.
func (g *demoGen) fill(s string) string {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return s
		}
		var v string
		switch s[i+1 : i+j] {
		case "megas":
			v = strconv.Itoa(g.megas)
		case "low":
			v = strconv.Itoa(max(g.megas/(3+g.rng.IntN(8))/5*5, 5))
		case "n":
			v = strconv.Itoa(2 + g.rng.IntN(9))
		case "barrio":
			v = pick(g.rng, demoBarrios)
		case "app":
			v = pick(g.rng, demoApps)
		case "game":
			v = pick(g.rng, demoGames)
		case "pers":
			v = pick(g.rng, demoPeople)
		case "dia":
			v = pick(g.rng, demoDays)
		case "hora":
			v = pick(g.rng, demoHours)
		case "mes":
			v = pick(g.rng, demoMonths)
		case "monto":
			v = pick(g.rng, demoAmount)
		case "city2":
			v = pickWeighted(g.rng, demoCities)
		default:
			v = s[i+1 : i+j]
		}
		s = s[:i] + v + s[i+j+1:]
	}
}

// comment makes one comment and the sentiment it was written with.
func (g *demoGen) comment(date time.Time) (string, Sentiment) {
	rng := g.rng
	g.megas = pick(rng, demoMegas)
	month := date.Format("2006-01")

	// A storm season (more outages in January and February) and a billing
	// incident (June), so the months breakdown has something to show.
	themeOf := func() string {
		switch {
		case (month == "2026-01" || month == "2026-02") && rng.IntN(3) == 0:
			return "outages"
		case month == "2026-06" && rng.IntN(4) == 0:
			return "billing"
		}
		return pickWeighted(rng, demoThemeWeights)
	}
	// Each fragment of a comment is about another theme, so a comment does
	// not both praise and curse the same thing.
	used := make(map[string]bool)
	frag := func(positive bool) string {
		theme := "general"
		if rng.IntN(7) != 0 {
			theme = themeOf()
			for try := 0; used[theme] && try < 10; try++ {
				theme = pickWeighted(rng, demoThemeWeights)
			}
		}
		used[theme] = true
		f := demoGeneral
		if theme != "general" {
			f = demoThemes[theme]
		}
		if positive {
			return g.fill(pick(rng, f.pos))
		}
		return g.fill(pick(rng, f.neg))
	}

	if rng.IntN(33) == 0 {
		if rng.IntN(2) == 0 {
			return pick(rng, demoEnglish.pos), Positive
		}
		return pick(rng, demoEnglish.neg), Negative
	}

	var parts []string
	var intent Sentiment
	switch k := rng.IntN(100); {
	case k < 44:
		intent = Negative
		for range 1 + rng.IntN(3) {
			parts = append(parts, frag(false))
		}
	case k < 78:
		intent = Positive
		for range 1 + rng.IntN(2) {
			parts = append(parts, frag(true))
		}
	case k < 90:
		intent = Neutral
		parts = append(parts, g.fill(pick(rng, demoNeutral)))
	default:
		// Mixed: the part after "pero" is what the customer means.
		first := rng.IntN(2) == 0
		a, b := frag(first), frag(!first)
		parts = append(parts, strings.TrimRight(a, ".!")+", pero "+lowerFirst(b))
		intent = Negative
		if !first {
			intent = Positive
		}
	}
	parts = dedupe(parts)

	if rng.IntN(100) < 30 {
		parts = append([]string{g.fill(pick(rng, demoOpeners))}, parts...)
		if o := parts[0]; strings.HasSuffix(o, ",") || strings.HasSuffix(o, ":") {
			parts[1] = lowerFirst(parts[1])
		}
	}
	if rng.IntN(100) < 30 {
		switch intent {
		case Positive:
			parts = append(parts, pick(rng, demoClosersPos))
		case Negative:
			parts = append(parts, pick(rng, demoClosersNeg))
		default:
			parts = append(parts, pick(rng, demoClosersNeutral))
		}
	}
	sep := " "
	if rng.IntN(150) == 0 {
		sep = "\n" // a few comments of several lines, quoted in the file
	}
	text := strings.Join(parts, sep)
	if rng.IntN(120) == 0 {
		text = strings.Replace(text, "el plan", `el famoso "plan"`, 1)
	}
	return g.noise(text, intent), intent
}

// lowerFirst lower-cases the first letter of a fragment that goes after a
// comma.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if !unicode.IsUpper(r) || strings.HasPrefix(s, "Personal") || strings.HasPrefix(s, "Zoom") {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

func dedupe(parts []string) []string {
	var out []string
	for _, p := range parts {
		dup := false
		for _, q := range out {
			dup = dup || p == q
		}
		if !dup {
			out = append(out, p)
		}
	}
	return out
}

var demoAccents = strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "Á", "A", "É", "E", "Í", "I", "Ó", "O", "Ú", "U")

var demoAbbrev = []struct{ long, short string }{
	{" que ", " q "}, {" porque ", " xq "}, {"también", "tb"}, {"por favor", "xfa"},
	{" muy ", " mui "}, {" para ", " pa "}, {" está ", " ta "},
}

// noise makes a comment look typed: accents left out, lower case, chat
// spellings, a letter stretched or two swapped, exclamations, an emoji.
func (g *demoGen) noise(s string, intent Sentiment) string {
	rng := g.rng
	if rng.IntN(100) < 30 {
		s = demoAccents.Replace(s)
		if rng.IntN(3) == 0 {
			s = strings.ReplaceAll(s, "ñ", "n")
		}
	}
	if rng.IntN(100) < 10 {
		for _, a := range demoAbbrev {
			s = strings.ReplaceAll(s, a.long, a.short)
		}
	}
	if rng.IntN(100) < 20 {
		s = strings.ToLower(s)
	} else if len(s) < 60 && rng.IntN(100) < 8 {
		s = strings.ToUpper(s)
	}
	if rng.IntN(100) < 8 {
		s = stretch(s, rng)
	}
	if rng.IntN(100) < 6 {
		s = swapLetters(s, rng)
	}
	if rng.IntN(100) < 12 && strings.HasSuffix(s, ".") {
		s = strings.TrimSuffix(s, ".") + strings.Repeat("!", 1+rng.IntN(3))
	}
	if rng.IntN(100) < 5 {
		switch intent {
		case Positive:
			s += " " + pick(rng, []string{"🙌", "😍", "👌", "💪", "🚀"})
		case Negative:
			s += " " + pick(rng, []string{"🤦‍♂️", "😤", "👎", "🙄", "😭"})
		}
	}
	if rng.IntN(100) < 15 {
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// stretch repeats the last vowel of one of a few words: "lentooo".
func stretch(s string, rng *rand.Rand) string {
	for _, w := range []string{"lento", "malo", "bueno", "bien", "excelente", "caro", "pésimo", "mal", "rápido", "nada"} {
		i := strings.Index(s, w)
		if i < 0 {
			continue
		}
		end := i + len(w)
		last := strings.LastIndexAny(w, "aeiou")
		if last < 0 {
			continue
		}
		v := string(w[last])
		return s[:i+last+1] + strings.Repeat(v, 2+rng.IntN(4)) + s[i+last+1:end] + s[end:]
	}
	return s
}

// swapLetters swaps two neighbour letters of a long ASCII word.
func swapLetters(s string, rng *rand.Rand) string {
	ws := strings.Split(s, " ")
	var long []int
	for i, w := range ws {
		if len(w) >= 6 && strings.IndexFunc(w, func(r rune) bool { return r >= 0x80 || r < 'a' || r > 'z' }) < 0 {
			long = append(long, i)
		}
	}
	if len(long) == 0 {
		return s
	}
	i := pick(rng, long)
	b := []byte(ws[i])
	j := 1 + rng.IntN(len(b)-2)
	b[j], b[j+1] = b[j+1], b[j]
	ws[i] = string(b)
	return strings.Join(ws, " ")
}

// rating draws a rating that mostly agrees with the intent.
func (g *demoGen) rating(intent Sentiment, mixed bool) int {
	n := g.rng.IntN(100)
	var cum []int // cumulative percentages of 1..5
	switch {
	case mixed:
		cum = []int{5, 30, 75, 97, 100}
	case intent == Positive:
		cum = []int{2, 4, 12, 45, 100}
	case intent == Negative:
		cum = []int{50, 80, 93, 98, 100}
	default:
		cum = []int{5, 20, 70, 92, 100}
	}
	for i, c := range cum {
		if n < c {
			return i + 1
		}
	}
	return 5
}

// generateDemo makes the demo data set.
func generateDemo() []demoComment {
	g := &demoGen{rng: rand.New(rand.NewPCG(demoSeed, demoSeed>>3))}
	rng := g.rng
	seen := make(map[string]bool)
	out := make([]demoComment, 0, demoRows)
	start := demoEnd.AddDate(-1, 0, 1)
	days := int(demoEnd.Sub(start).Hours()/24) + 1
	for len(out) < demoRows {
		date := start.AddDate(0, 0, rng.IntN(days))
		var text string
		var intent Sentiment
		for try := 0; ; try++ {
			text, intent = g.comment(date)
			if !seen[text] || try == 3 {
				break // a few short ones may repeat, as in real data
			}
		}
		seen[text] = true
		c := demoComment{text: text, intent: intent, date: date.Format("2006-01-02")}
		c.rating = g.rating(intent, strings.Contains(text, ", pero "))
		if rng.IntN(100) < 4 {
			c.rating = 0
		}
		if rng.IntN(100) < 2 {
			c.date = ""
		}
		c.city = pickWeighted(rng, demoCities)
		switch n := rng.IntN(100); {
		case n < 2:
			c.city = ""
		case n < 4:
			c.city = demoAccents.Replace(c.city)
		case n < 5:
			c.city = strings.ToUpper(c.city)
		case n < 6:
			c.city = strings.ToLower(c.city)
		}
		out = append(out, c)
	}
	return out
}

// encodeDemo writes the demo data set as the CSV analysts upload.
func encodeDemo(cs []demoComment) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"comentario", "rating", "fecha", "ciudad"})
	for _, c := range cs {
		r := ""
		if c.rating > 0 {
			r = fmt.Sprint(c.rating)
		}
		w.Write([]string{c.text, r, c.date, c.city})
	}
	w.Flush()
	return buf.Bytes()
}
