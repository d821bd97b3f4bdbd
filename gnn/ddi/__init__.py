"""Drug-drug interaction prediction where the sources are silent: type (86 DrugBank types), estimated
severity and the probability that an uncovered pair interacts. Always labelled as predictions."""
