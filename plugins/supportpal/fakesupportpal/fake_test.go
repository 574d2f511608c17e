package fakesupportpal

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ezscale/platform/plugins/internal/jsonshape"
)

// The reference's ticket fixture (shared/reference/third-party-apis.md,
// section 10), without the objects it elides.
const referenceTicket = `{"status":"success","message":null,"data":{"id":1,"number":"6151997","department_id":1,"brand_id":1,"channel_id":1,"user_id":2,"status_id":1,
 "priority_id":1,"subject":"test","locked":0,"internal":0,"messages_count":3,"last_reply_time":1598534452,
 "created_at":1597247676,"updated_at":1598534607,"token":"e0f5","frontend_url":"http://h/ticket/123456",
 "operator_url":"http://h/admin/ticket/view/123456","status":{"id":1,"name":"Open"},
 "priority":{"id":1,"name":"Low"},"user":{"id":2,"email":"a@b.c","firstname":"x","lastname":"y"}}}`

const referenceMessage = `{"status":"success","message":null,"count":1,"data":[{"id":1,"ticket_id":1,"channel_id":1,"user_id":2,"user_name":"x","by":1,
 "type":0,"text":"t","purified_text":"t","is_draft":0,"created_at":1}]}`

func call(t *testing.T, method, url, body string) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.SetBasicAuth(DefaultToken, "X")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// TestServesTheReferenceShapes: a ticket and a message list carry every
// field of the reference's examples.
func TestServesTheReferenceShapes(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	got := call(t, "POST", srv.URL+"/api/ticket/ticket",
		`{"user_email":"a@b.c","user_firstname":"A","department":1,"status":1,"priority":2,"subject":"s","text":"<p>hi</p>"}`)
	if missing, err := jsonshape.Missing([]byte(referenceTicket), got); err != nil || len(missing) > 0 {
		t.Errorf("ticket lacks %v (%v): %s", missing, err, got)
	}
	var created struct {
		Data struct {
			ID int64 `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got, &created); err != nil {
		t.Fatal(err)
	}
	msgs := call(t, "GET", srv.URL+"/api/ticket/message?ticket_id="+strconv.FormatInt(created.Data.ID, 10), "")
	if missing, err := jsonshape.Missing([]byte(referenceMessage), msgs); err != nil || len(missing) > 0 {
		t.Errorf("messages lack %v (%v): %s", missing, err, msgs)
	}
}
