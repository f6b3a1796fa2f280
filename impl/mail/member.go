package mail

// Member is one backend as the operator lists it (the userbase backends
// table, or a static list): what the front ends place by and repair plans
// with, before anyone has asked the backend how it is.
type Member struct {
	Addr     string // host:port of the pplistener
	Group    string // failure domain: copies go to distinct groups first
	Priority int    // lower is preferred as a target
	ReadOnly bool   // the operator's mark: serves reads, never a target
}
