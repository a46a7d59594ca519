package platform

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBindListeners(t *testing.T) {
	local := "127.0.0.1:0"
	tests := []struct {
		name        string
		api, mgmt   string
		metrics     string
		wantAPI     bool
		wantMetrics bool
	}{
		{name: "api, health and metrics", api: local, metrics: local, wantAPI: true, wantMetrics: true},
		{name: "api off", api: "0", metrics: local, wantMetrics: true},
		{name: "metrics off", api: local, metrics: "0", wantAPI: true},
		{name: "the deprecated management address replaces the api's", api: "0", mgmt: local, metrics: local, wantAPI: true, wantMetrics: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := bindListeners(Options{APIBindAddress: tc.api, ManagementAPIBindAddress: tc.mgmt, HealthProbeBindAddress: local, MetricsBindAddress: tc.metrics})
			require.NoError(t, err)
			defer ls.close()
			a := ls.addresses()
			assert.NotEmpty(t, a.Health)
			assert.Equal(t, tc.wantAPI, a.API != "", "api %q", a.API)
			assert.Equal(t, a.API, a.Management, "management repeats api")
			assert.Equal(t, tc.wantMetrics, a.Metrics != "", "metrics %q", a.Metrics)
			if tc.wantAPI {
				c, err := net.Dial("tcp", a.API)
				require.NoError(t, err, "the API's listener is bound")
				c.Close()
			}
		})
	}
}

func TestBindListenersNamesTheFlagOfATakenAddress(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{name: "api", o: Options{APIBindAddress: taken.Addr().String()}, want: "--api-bind-address " + taken.Addr().String()},
		{name: "deprecated management", o: Options{APIBindAddress: "0", ManagementAPIBindAddress: taken.Addr().String()}, want: "--management-api-bind-address " + taken.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.HealthProbeBindAddress, tc.o.MetricsBindAddress = "127.0.0.1:0", "0"
			_, err := bindListeners(tc.o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
