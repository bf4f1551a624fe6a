// Package e2e holds TicketFlow's integration tests. They run against the real local stack that
// `make test` starts (or reuses), under the build tag "integration", and fail — never skip — when
// a server is missing.
package e2e
