package gpu

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVisible(t *testing.T) {
	mustFakeSMI(t, fakeSMI{Query: "testdata/four-gpu/query.csv"})
	inv, err := Query(context.Background())
	require.NoError(t, err)
	tests := []struct {
		name  string
		value string
		set   bool
		want  []int
	}{
		{"UnsetMeansAll", "", false, []int{0, 1, 2, 3}},
		{"EmptyMeansNone", "", true, nil},
		{"Indices", "2,0", true, []int{2, 0}},
		{"Spaces", " 1, 3", true, []int{1, 3}},
		{"FullUUID", "GPU-1c2e9d4b-6a0f-4e1b-9b7a-2f0d8e3c5a61", true, []int{1}},
		{"UUIDPrefix", "GPU-703f,GPU-e5d4", true, []int{0, 3}},
		{"AmbiguousPrefixStops", "1,GPU-703,2", true, []int{1}},
		{"UnknownIndexStops", "0,7,1", true, []int{0}},
		{"InvalidFirstMeansNone", "-1,0", true, nil},
		{"DuplicateStops", "1,1,2", true, []int{1}},
		{"MIGStops", "MIG-GPU-703f6a55,0", true, nil},
		{"EmptyEntryStops", "0,,1", true, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, d := range Visible(inv, tt.value, tt.set) {
				got = append(got, d.Index)
			}
			assert.Equal(t, tt.want, got, "Visible(%q, %t)", tt.value, tt.set)
		})
	}
	assert.Nil(t, Visible(nil, "0", true), "Visible(nil)")
}
