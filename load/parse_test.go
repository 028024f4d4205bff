package load

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	files := map[string][]byte{"body.json": []byte(`{"a":1}`), "empty": {}}
	read := func(name string) ([]byte, error) {
		b, ok := files[name]
		if !ok {
			return nil, errors.New("no such file")
		}
		return b, nil
	}
	tests := []struct {
		name    string
		in      string
		want    []Target
		wantErr string
	}{
		{"one", "GET http://127.0.0.1:8080/a\n", []Target{{Method: "GET", URL: "http://127.0.0.1:8080/a"}}, ""},
		{"blocks", `# a comment
get http://127.0.0.1/a
X-Id: 1
X-Id: 2

POST http://127.0.0.1/b
Content-Type: application/json
@body.json
`, []Target{
			{Method: "GET", URL: "http://127.0.0.1/a", Header: http.Header{"X-Id": {"1", "2"}}},
			{Method: "POST", URL: "http://127.0.0.1/b", Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"a":1}`)},
		}, ""},
		{"empty body", "PUT http://127.0.0.1/\n@empty\n", []Target{{Method: "PUT", URL: "http://127.0.0.1/", Body: []byte{}}}, ""},
		{"one per line, as vegeta takes them", "GET http://127.0.0.1/a\nGET http://127.0.0.1/b\nX-Id: 1\nPOST http://127.0.0.1/c\n@body.json\nDELETE http://127.0.0.1/d\n", []Target{
			{Method: "GET", URL: "http://127.0.0.1/a"},
			{Method: "GET", URL: "http://127.0.0.1/b", Header: http.Header{"X-Id": {"1"}}},
			{Method: "POST", URL: "http://127.0.0.1/c", Body: []byte(`{"a":1}`)},
			{Method: "DELETE", URL: "http://127.0.0.1/d"},
		}, ""},
		{"a header whose value is a URL", "GET http://127.0.0.1/a\nReferer: http://127.0.0.1/b\n", []Target{
			{Method: "GET", URL: "http://127.0.0.1/a", Header: http.Header{"Referer": {"http://127.0.0.1/b"}}},
		}, ""},
		{"no targets", "# nothing\n\n", nil, "no targets"},
		{"no url", "GET\n", nil, "line 1: want 'METHOD URL'"},
		{"bad scheme", "GET ftp://x/\n", nil, "line 1: bad URL"},
		{"no host", "GET http:///x\n", nil, "line 1: bad URL"},
		{"bad method", "G(T http://x/\n", nil, "line 1: bad method"},
		{"bad header", "GET http://x/\nno colon here\n", nil, "line 2: want 'Key: Value'"},
		{"missing body", "GET http://x/\n@nope\n", nil, "line 2: body file: no such file"},
		{"two bodies", "GET http://x/\n@empty\n@empty\n", nil, "line 3: second body file"},
		{"header after body", "GET http://x/\n@empty\nA: b\n", nil, "line 3: header after the body file"},
		{"url with space", "GET http://x/ y\n", nil, "line 1: want 'METHOD URL'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTargets(strings.NewReader(tt.in), read)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseTargets(f *testing.F) {
	f.Add("GET http://127.0.0.1/a\nX: y\n@b\n\nPOST http://127.0.0.1:1/\n")
	f.Add("# c\n\nDELETE https://[::1]:8443/x?y=z\n")
	f.Add("GET http://%zz/\n")
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ParseTargets(strings.NewReader(in), func(string) ([]byte, error) { return []byte("b"), nil })
		if err != nil {
			if !strings.HasPrefix(err.Error(), "load: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		cfg := Config{Targets: ts}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("parsed targets fail validation: %v", err)
		}
	})
}

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		in      string
		want    []Threshold
		wantErr string
	}{
		{"p99<200ms,errors<1%", []Threshold{{"p99", "<", 200, "p99<200ms"}, {"errors", "<", 0.01, "errors<1%"}}, ""},
		{"max<=1.5s, rps>=1000", []Threshold{{"max", "<=", 1500, "max<=1.5s"}, {"rps", ">=", 1000, "rps>=1000"}}, ""},
		{"dropped<0.5", []Threshold{{"dropped", "<", 0.5, "dropped<0.5"}}, ""},
		{"", nil, "empty"},
		{"p99", nil, "want METRIC<VALUE"},
		{"p99<200", nil, "want a duration"},
		{"errors<200%", nil, "at most 100%"},
		{"latency<1s", nil, "unknown metric"},
		{"<1s", nil, "want METRIC<VALUE"},
	}
	for _, tt := range tests {
		got, err := ParseThresholds(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	r := &Report{Requests: 1000, Failed: 20, RPS: 500, Latency: Latency{P99: 250, Max: 900}}
	ths, err := ParseThresholds("p99<200ms,errors<1%,max<1s,rps>400")
	if err != nil {
		t.Fatal(err)
	}
	got := r.Check(ths)
	want := []string{"p99<200ms: was 250ms", "errors<1%: was 2.00%"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Check = %q, want %q", got, want)
	}
}

func FuzzParseThresholds(f *testing.F) {
	for _, s := range []string{"p99<200ms,errors<1%", "rps>=5", "max<=1h", "errors<NaN%", "p50>>1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ths, err := ParseThresholds(in)
		if err != nil {
			return
		}
		for _, th := range ths {
			if th.Value != th.Value || th.Value < 0 {
				t.Fatalf("%q: bad value %v", in, th.Value)
			}
			switch th.Op {
			case "<", "<=", ">", ">=":
			default:
				t.Fatalf("%q: bad op %q", in, th.Op)
			}
		}
		(&Report{}).Check(ths) // must not panic
	})
}
