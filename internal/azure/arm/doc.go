// Package arm is the client side of Azure Resource Manager: every request
// stays on Resource Manager's own host (the bearer token goes nowhere else,
// whatever link or redirect an answer names), every answer is bounded on
// the wire and inflated, long-running reads are polled on a schedule of
// their own, connections are dialed within the check limit, and the Azure
// SDK's log is silenced unless routed, cleaned, through the run's logger.
package arm
