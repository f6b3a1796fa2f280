package paper

func genSim(results string) (string, error) {
	return "", errPending
}
