package discover

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// The instance's backends and APIs are read once the instance is, each
// list followed through its nextLink; the backends' URLs come first.
func TestBackendsReadBothListsWithPaging(t *testing.T) {
	imds, _ := fakeIMDS(t)
	var arm *armServer
	arm = newARM(t, map[string]http.HandlerFunc{
		"GET backends": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Query().Get("page") == "2" {
				w.Write([]byte(`{"value":[{"name":"billing","properties":{"url":"http://billing.contoso.com:8080/","tls":{"validateCertificateChain":false,"validateCertificateName":true}}}],"nextLink":""}`))
				return
			}
			w.Write([]byte(`{"value":[{"name":"orders","properties":{"url":"https://orders.contoso.com/api"}}],"nextLink":"` + arm.URL + r.URL.Path + `?api-version=2024-05-01&page=2"}`))
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := mustDiscover(t, ctx, baseOpts(imds.URL, arm))
	v := d.Backends(ctx)
	if v == nil || !v.Backends.OK() || !v.APIs.OK() {
		t.Fatalf("reads: %+v", v)
	}
	var got []string
	for _, u := range v.URLs {
		got = append(got, u.Source+"="+u.URL)
	}
	want := "backend orders=https://orders.contoso.com/api,backend billing=http://billing.contoso.com:8080/," +
		"API echo-api={{echo-backend}}/echo,API orders-api=https://orders.contoso.com/api/v2,API legacy=http://10.50.0.4:8080/soap"
	if !v.URLs[1].NoChainCheck || v.URLs[1].NoNameCheck || v.URLs[0].NoChainCheck {
		t.Errorf("certificate checks: %+v", v.URLs[:2])
	}
	if strings.Join(got, ",") != want {
		t.Errorf("urls\n got %s\nwant %s", strings.Join(got, ","), want)
	}
}

// A refused read says which permission it lacked and the az command.
func TestBackendsReadDenied(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, map[string]http.HandlerFunc{"GET apis": armError(http.StatusForbidden, "AuthorizationFailed")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v := mustDiscover(t, ctx, baseOpts(imds.URL, arm)).Backends(ctx)
	if v == nil || !v.Backends.OK() || v.APIs.Status != snapshot.ReadDenied || v.APIs.Permission != "Microsoft.ApiManagement/service/apis/read" ||
		!strings.Contains(v.APIs.CLI, "/apis?api-version=") {
		t.Fatalf("%+v %+v", v, v.APIs)
	}
	if len(v.URLs) == 0 || v.URLs[0].Source != "backend orders" {
		t.Errorf("the backends' list still counts: %+v", v.URLs)
	}
}
