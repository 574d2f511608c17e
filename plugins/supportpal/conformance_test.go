package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/ezscale/platform/sdk/conformance"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// TestConformance runs the SDK's helpdesk suites against the plugin and the
// fake SupportPal.
func TestConformance(t *testing.T) {
	t.Parallel()
	fake, h, clk := setup(t, nil)
	ticket := &pb.OpenTicketRequest{Customer: customer, Subject: "Conformance", Body: "transcript"}
	conformance.Helpdesk(t, h, ticket)
	conformance.HelpdeskTickets(t, h, conformance.HelpdeskFixture{
		Ticket:          ticket,
		UnknownTicketID: "424242",
		StaffReply: func(id, text string) error {
			n, _ := strconv.ParseInt(id, 10, 64)
			clk.Add(time.Second)
			_, err := fake.Reply(n, text, 0)
			return err
		},
	})
}
