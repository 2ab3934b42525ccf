// Package gate reads robustness policies (advcheck/policy/v1 YAML):
// what sweep to run and what must hold. Match checks that a report is the
// sweep a policy describes; Apply records the policy's verdict in the
// report. The requirements themselves are evaluated by package reports
// (Report.ApplyRequirements), so that reading a report re-derives a stored
// verdict without this package.
package gate
