package ppserver

// IdleSessions is for the tests of package ppserver_test: a client has its
// reply before the session goes back to waiting, and eviction picks only
// waiting sessions.
func IdleSessions(s *Server) int { return s.sk.IdleSessions() }
