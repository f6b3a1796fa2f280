package scenario

import (
	"fmt"

	"powermail/sim/durability"
)

// Durability inputs: a 4% annual disk failure rate (field studies of
// drives report 2-9%), 2 TB of mail per backend, and for W < R the
// availability of a backend that crashes twice a year for ten minutes.
const (
	durAFR          = 0.04
	durGroupAFR     = 0.01 // a rack or power feed lost for good, per group-year
	durDataTB       = 2.0
	durCrashPerYear = 2
	durCrashDownMin = 10
	claimMessages   = 100000
	claimTrials     = 4000
)

var (
	durRepairHours = []float64{1, 6, 24, 168}
	durRepairMBps  = []float64{10, 100, 1000}
)

// Durability checks PowerMail's claim and tabulates the annual loss
// probability of an acknowledged message.
func Durability(o Options) error {
	claim, err := durClaim(o)
	if err != nil {
		return err
	}
	valid, err := durValidation(o)
	if err != nil {
		return err
	}
	out := map[string]any{"scenario": "durability", "afr": durAFR, "group_afr": durGroupAFR,
		"data_tb_per_backend": durDataTB, "claim": claim, "annual": durTable(), "repair": durRepair(),
		"validation": valid, "model": durNote}
	if err := writeJSON(o.OutDir, "durability", out); err != nil {
		return err
	}
	return durChart(o, valid)
}

const durNote = "copies on distinct backends in distinct groups; a copy is lost with its disk (rate afr) or its group " +
	"(group_afr); repair re-creates it after repair_hours; a message is lost when all its copies are lost within one " +
	"repair window. per_message: closed form k*l*(l*T)^(k-1); validated by simulating years of failures (validation)."

// durClaim: "6 servers in 3 groups, target 3: about 4% expected loss when
// 50% of servers fail".
func durClaim(o Options) (map[string]any, error) {
	layout := durability.Layout(6, 3)
	sim, err := durability.SnapshotSim(layout, 3, 3, claimMessages, claimTrials, o.Seed)
	if err != nil {
		return nil, err
	}
	exact := durability.SnapshotLoss(6, 3, 3)
	o.logf("durability claim: exact %.4f, simulated %.4f", exact, sim)
	return map[string]any{
		"claim":                        "6 servers in 3 groups, target 3: about 4% expected loss when 50% of servers fail",
		"exact_half_fail_uniform":      exact,
		"enumerated_half_fail_uniform": durability.EnumerateSnapshotLoss(layout, 3, 3),
		"simulated_with_placement":     sim,
		"simulated_messages":           claimMessages,
		"simulated_failure_draws":      claimTrials,
		"independent_p_half":           durability.IndependentLoss(0.5, 3),
		"target2_half_fail":            durability.SnapshotLoss(6, 3, 2),
		"target1_half_fail":            durability.SnapshotLoss(6, 3, 1),
		"verdict": fmt.Sprintf("if exactly 3 of the 6 servers fail, uniformly, a message is lost only when its 3 copies are "+
			"exactly the failed 3: 1/C(6,3) = %.1f%%, not about 4%%; if each server fails independently with p = 0.5 it is "+
			"0.5^3 = 12.5%%. The claim understates the loss by a fifth (or more)", 100*exact),
	}, nil
}

// AnnualRow is one line of the annual loss table.
type AnnualRow struct {
	R                 int     `json:"r"`
	W                 int     `json:"w"`
	GroupAFR          float64 `json:"group_afr"`
	RepairHours       float64 `json:"repair_hours"`
	PerMessage        float64 `json:"per_message_annual"`
	DegradedFracN3    float64 `json:"degraded_frac_3_backends"`
	PerMessageN3      float64 `json:"per_message_annual_3_backends"`
	ClusterAnyN1000   float64 `json:"cluster_any_loss_annual_1000_backends"`
	ClusterAnyN1000Gr float64 `json:"cluster_any_loss_annual_1000_backends_with_group_failures"`
}

func durTable() []AnnualRow {
	avail := 1 - durCrashPerYear*durCrashDownMin/(365.25*24*60)
	var rows []AnnualRow
	for r := 1; r <= 3; r++ {
		for w := 1; w <= r; w++ {
			for _, h := range durRepairHours {
				p := durability.Params{R: r, W: w, AFR: durAFR, RepairHours: h}
				row := AnnualRow{R: r, W: w, RepairHours: h, PerMessage: durability.PerMessageAnnual(p),
					ClusterAnyN1000: durability.ClusterAnyLossAnnual(1000, p)}
				if w < r {
					row.DegradedFracN3 = durability.DegradedFraction(3, r, avail)
				}
				p3 := p
				p3.DegradedFrac, p3.DegradedHours = row.DegradedFracN3, h
				row.PerMessageN3 = durability.PerMessageAnnual(p3)
				pg := p
				pg.GroupAFR = durGroupAFR
				row.GroupAFR = durGroupAFR
				row.ClusterAnyN1000Gr = durability.ClusterAnyLossAnnual(1000, pg)
				rows = append(rows, row)
			}
		}
	}
	return rows
}

// RepairRow relates repair bandwidth to the loss probability.
type RepairRow struct {
	MBps        float64 `json:"repair_mb_per_sec"`
	RepairHours float64 `json:"repair_hours"`
	PerMsgR2    float64 `json:"per_message_annual_r2"`
	PerMsgR3    float64 `json:"per_message_annual_r3"`
}

func durRepair() []RepairRow {
	var rows []RepairRow
	for _, bw := range durRepairMBps {
		h := durDataTB * 1e6 / bw / 3600
		rows = append(rows, RepairRow{MBps: bw, RepairHours: h,
			PerMsgR2: durability.PerMessageAnnual(durability.Params{R: 2, W: 2, AFR: durAFR, RepairHours: h}),
			PerMsgR3: durability.PerMessageAnnual(durability.Params{R: 3, W: 3, AFR: durAFR, RepairHours: h})})
	}
	return rows
}

// ValidRow compares the closed form with the simulation of years.
type ValidRow struct {
	Backends    int     `json:"backends"`
	Groups      int     `json:"groups"`
	R           int     `json:"r"`
	AFR         float64 `json:"afr"`
	GroupAFR    float64 `json:"group_afr"`
	RepairHours float64 `json:"repair_hours"`
	Years       float64 `json:"simulated_years"`
	ClosedForm  float64 `json:"closed_form"`
	Simulated   float64 `json:"simulated"`
	ErrorPct    float64 `json:"error_pct"`
}

// durValidation runs at failure rates high enough to measure in seconds
// (lambda*T from 0.5% to 5%).
func durValidation(o Options) ([]ValidRow, error) {
	years := 4e5
	if o.Quick {
		years = 1e5
	}
	var rows []ValidRow
	for _, c := range []struct {
		n, g, r       int
		afr, gafr, lt float64
	}{{6, 3, 2, 1, 0, 0.005}, {6, 3, 2, 1, 0, 0.02}, {6, 3, 3, 1, 0, 0.02}, {6, 3, 3, 1, 0, 0.05},
		{12, 4, 3, 1, 0, 0.03}, {12, 4, 2, 0.5, 0.5, 0.02}, {9, 3, 3, 0.5, 0.5, 0.05}} {
		p := durability.Params{R: c.r, W: c.r, AFR: c.afr, GroupAFR: c.gafr, RepairHours: c.lt / (c.afr + c.gafr) * 365.25 * 24}
		got, err := durability.YearsSim(durability.Layout(c.n, c.g), p, years, o.Seed)
		if err != nil {
			return nil, err
		}
		want := durability.PerMessageAnnual(p)
		rows = append(rows, ValidRow{Backends: c.n, Groups: c.g, R: c.r, AFR: c.afr, GroupAFR: c.gafr,
			RepairHours: p.RepairHours, Years: years, ClosedForm: want, Simulated: got, ErrorPct: 100 * (got - want) / want})
	}
	return rows, nil
}

func durChart(o Options, valid []ValidRow) error {
	c := chart{Title: "Annual probability of losing an acknowledged message (AFR 4%)",
		XLabel: "repair time (hours)", YLabel: "P(loss) per message-year", LogX: true, LogY: true}
	for r := 1; r <= 3; r++ {
		s := series{Name: fmt.Sprintf("R=%d", r)}
		for _, h := range []float64{0.5, 1, 3, 6, 12, 24, 72, 168, 720} {
			s.X = append(s.X, h)
			s.Y = append(s.Y, durability.PerMessageAnnual(durability.Params{R: r, W: r, AFR: durAFR, RepairHours: h}))
		}
		c.Lines = append(c.Lines, s)
	}
	if err := c.save(o.OutDir, "durability"); err != nil {
		return err
	}
	v := chart{Title: "Durability model: closed form vs simulated years", XLabel: "closed form",
		YLabel: "simulated", LogX: true, LogY: true}
	sim, diag := series{Name: "simulated"}, series{Name: "y = x"}
	for _, r := range valid {
		sim.X, sim.Y = append(sim.X, r.ClosedForm), append(sim.Y, r.Simulated)
		diag.X, diag.Y = append(diag.X, r.ClosedForm), append(diag.Y, r.ClosedForm)
	}
	v.Lines = []series{sim, diag}
	return v.save(o.OutDir, "durability-validation")
}
