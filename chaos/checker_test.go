package chaos

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// sent builds a send record and the stored form a backend would return
// (our bytes with a Received: header prepended).
func sent(id string, o Outcome, code int) (SendRecord, []byte) {
	m := newMessage(rand.New(rand.NewPCG(1, 2)), id, []string{"a@example.com"})
	s := SendRecord{ID: id, Boxes: []string{"a@example.com"}, Outcome: o, Code: code, fp: fingerprintOf(m.Wire)}
	return s, append([]byte("Received: by chaos-test\r\n"), m.Wire...)
}

func found(id string, stored []byte) Copy {
	return Copy{Box: "a@example.com", UID: "uid-" + id, ChaosID: chaosID(stored), Stored: stored}
}

func TestCheckerFindings(t *testing.T) {
	okS, okB := sent("m1", OK, 250)
	lostS, _ := sent("m2", OK, 250)
	dupS, dupB := sent("m3", OK, 250)
	failS, failB := sent("m4", Fail, 451)
	infoS, infoB := sent("m5", Info, 0)
	delS, delB := sent("m6", OK, 250)
	badS, badB := sent("m7", OK, 250)
	bounceS, _ := sent("m8", Fail, 550)
	corrupt := append([]byte{}, badB...)
	corrupt[len(corrupt)-3] ^= 1
	_, ghostB := sent("m9", OK, 250)

	sends := []SendRecord{okS, lostS, dupS, failS, infoS, delS, badS, bounceS}
	deletes := []DeleteRecord{{ID: "m6", Box: "a@example.com", Acked: true}}
	copies := []Copy{found("m1", okB), found("m3", dupB), found("m3b", dupB), found("m4", failB),
		found("m5", infoB), found("m6", delB), found("m7", corrupt), found("m9", ghostB)}
	c := Check(sends, deletes, copies)

	require.Equal(t, 8, c.Sent)
	require.Equal(t, 5, c.Acked)
	require.Equal(t, 1, c.Lost, "m2 answered 250 and missing")
	require.Equal(t, 1, c.Duplicated, "m3 twice")
	require.Equal(t, 1, c.VisibleAfter4xx, "m4 refused with 451 and present")
	require.Equal(t, 1, c.InfoPresent, "m5 may be present")
	require.Equal(t, 1, c.Resurrected, "m6 deleted with an acknowledged QUIT")
	require.Equal(t, 1, c.Corrupt, "m7 bytes differ")
	require.Equal(t, 1, c.Phantom, "m9 never sent")
	require.Equal(t, 1, c.Refused5xx, "m8 bounced")
	require.ElementsMatch(t, []string{"lost=1", "duplicated=1", "corrupt=1", "phantom=1", "resurrected=1",
		"visible_after_4xx=1", "refused_5xx=1"}, c.Violations())
}

func TestCheckerCleanHistory(t *testing.T) {
	a, aB := sent("m1", OK, 250)
	f, _ := sent("m2", Fail, 451)
	i, _ := sent("m3", Info, 0)
	d, _ := sent("m4", OK, 250)
	o, oB := sent("m5", Fail, 451)
	// m5 was refused, yet a POP session saw it (the window before the
	// VOID) and deleted it: no longer visible, no violation.
	deletes := []DeleteRecord{{ID: "m4", Box: "a@example.com", Acked: true}, {ID: "m5", Box: "a@example.com", Acked: true}}
	copies := []Copy{found("m1", aB)}
	_ = oB
	c := Check([]SendRecord{a, f, i, d, o}, deletes, copies)
	require.Empty(t, c.Violations(), "%+v", c)
}

func TestFingerprintNeedsTheWholeTail(t *testing.T) {
	m := newMessage(rand.New(rand.NewPCG(3, 4)), "m1", []string{"a@example.com"})
	fp := fingerprintOf(m.Wire)
	require.True(t, fp.matches(append([]byte("Received: x\r\n"), m.Wire...)))
	require.False(t, fp.matches(m.Wire[1:]), "a truncated copy")
	require.Equal(t, "m1", chaosID(m.Wire))
}

func TestTopOf(t *testing.T) {
	stored := []byte("A: 1\r\nB: 2\r\n\r\none\r\n..two\r\nthree\r\n")
	for lines, want := range map[int]string{
		0: "A: 1\r\nB: 2\r\n\r\n",
		2: "A: 1\r\nB: 2\r\n\r\none\r\n..two\r\n",
		9: string(stored),
	} {
		if got := string(topOf(stored, lines)); got != want {
			t.Errorf("topOf(%d) = %q, want %q", lines, got, want)
		}
	}
}
