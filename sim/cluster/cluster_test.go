package cluster

import (
	"encoding/json"
	"math"
	"testing"

	"powermail/sim/workload"
)

func small() Config {
	c := Defaults()
	c.Backends, c.Groups, c.Mailboxes = 6, 3, 1000
	c.SMTPRate, c.LoginRate, c.Duration = 200, 50, 60
	c.QueueBroadcast = true
	return c
}

func run(t *testing.T, c Config) Result {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s.Run()
}

// TestDeterministic: the same seed gives byte-identical results (apart
// from the run's own wall time and memory).
func TestDeterministic(t *testing.T) {
	c := small()
	c.CrashPerYear, c.CrashDownSec, c.AFR = 3e5, 5, 2e5 // failures within a minute
	c.Additions = []Addition{{AtSec: 30, Count: 2}}
	for _, pol := range []string{"powermail", "rendezvous"} {
		c.Policy = pol
		a, b := run(t, c), run(t, c)
		a.Run, b.Run = RunCost{}, RunCost{}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("%s: two runs differ:\n%s\n%s", pol, ja, jb)
		}
		if a.Crashes == 0 || a.DiskLosses == 0 || a.Backends != 8 {
			t.Errorf("%s: failures or additions did not happen: %s", pol, ja)
		}
		c.Seed++
		if d := run(t, c); d.Delivered == a.Delivered && d.Deliver == a.Deliver {
			t.Errorf("%s: another seed gave the same run", pol)
		}
		c.Seed--
	}
}

// TestMD1Backend: one backend, one server, fixed 4 KiB messages, no network
// or front-end cost: the delivery latency is an M/D/1 response time,
// S + rho*S/(2(1-rho)) (Pollaczek-Khinchine), or with exponential service
// the M/M/1 response time 1/(mu - lambda).
func TestMD1Backend(t *testing.T) {
	c := Defaults()
	c.Backends, c.Groups, c.R, c.W, c.Mailboxes = 1, 1, 1, 1, 100
	c.Mix = workload.Fixed(4)
	c.LoginRate, c.Duration, c.Warmup = 0, 1000, 10
	c.Costs.HostCPUs, c.Costs.SMTPCPUMs, c.Costs.WriteFlushMs, c.Costs.NetRTTMs = 1, 0, 0, 0
	c.Costs.WriteCPUMs, c.Costs.WriteCPUPerKiBMs, c.Costs.NetGbitPerSec = 1, 0, 1e12
	for _, rho := range []float64{0.5, 0.8} {
		c.SMTPRate = rho * 1000
		c.ExpService = false
		r := run(t, c)
		want := 1 + rho/(2*(1-rho)) // ms
		if math.Abs(r.Deliver.MeanMs-want)/want > 0.05 {
			t.Errorf("rho %.1f: mean %.3f ms, want %.3f (M/D/1)", rho, r.Deliver.MeanMs, want)
		}
		c.ExpService = true
		if got, want := run(t, c).Deliver.MeanMs, 1/(1-rho); math.Abs(got-want)/want > 0.06 {
			t.Errorf("rho %.1f: mean %.3f ms, want %.3f (M/M/1: 1/(mu-lambda))", rho, got, want)
		}
		if math.Abs(r.UtilMax-rho) > 0.02 || math.Abs(r.CapacityMsgS-1000) > 30 {
			t.Errorf("rho %.1f: util %.3f, capacity %.0f/s, want 1000", rho, r.UtilMax, r.CapacityMsgS)
		}
	}
}

// TestLoginFanOut: a PowerMail login asks every backend; a rendezvous login
// asks the R backends of the mailbox.
func TestLoginFanOut(t *testing.T) {
	c := small()
	c.Backends, c.Groups = 20, 20
	c.Policy = "powermail"
	if r := run(t, c); r.ContactedMean != 20 {
		t.Errorf("powermail contacted %.2f per login, want 20", r.ContactedMean)
	}
	c.Policy = "rendezvous"
	if r := run(t, c); r.ContactedMean != 2 {
		t.Errorf("rendezvous contacted %.2f per login, want 2", r.ContactedMean)
	}
}

// TestDiskLossWithOneCopy: with R = 1 a lost disk loses exactly the mail it
// held; with R = 2 and repair, one loss loses nothing.
func TestDiskLossWithOneCopy(t *testing.T) {
	c := small()
	c.R, c.W, c.LoginRate, c.Duration = 1, 1, 0, 20
	c.Mix = workload.Fixed(4)
	c.Backends, c.Groups = 4, 4
	s, _ := New(c)
	s.Run()
	held := s.bks[0].files
	s.loseDisk(0)
	if s.st.lostMessages != held || held == 0 {
		t.Errorf("R=1: lost %d, backend held %d", s.st.lostMessages, held)
	}
	c.R, c.W = 2, 2
	s, _ = New(c)
	s.Run()
	s.loseDisk(0)
	if s.st.lostMessages != 0 {
		t.Errorf("R=2: one disk loss lost %d messages", s.st.lostMessages)
	}
}

// TestMailConserved: with logins far more frequent than mail, nearly all
// delivered mail is retrieved, and stored bytes never go negative.
func TestMailConserved(t *testing.T) {
	c := small()
	c.Mailboxes, c.LoginRate, c.Mix = 50, 500, workload.Fixed(4)
	s, _ := New(c)
	r := s.Run()
	if r.Delivered == 0 || float64(r.Retrieved) < 0.95*float64(r.Delivered) {
		t.Errorf("delivered %d, retrieved %d", r.Delivered, r.Retrieved)
	}
	for i, b := range s.bks {
		if b.storedKiB < -1e-6 {
			t.Errorf("backend %d stores %v KiB", i, b.storedKiB)
		}
	}
}
