package devstack

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The stack's ports inside the kernel's ephemeral range are added to what it already reserves;
// ports outside it are left alone.
func TestReservePortsAddsTheStacksEphemeralRangePortsToTheReservedOnes(t *testing.T) {
	dir := t.TempDir()
	rangeFile, reservedFile := filepath.Join(dir, "range"), filepath.Join(dir, "reserved")
	if err := os.WriteFile(rangeFile, []byte("32768\t60999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reservedFile, []byte("8000-8010,55432\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := reservePortsIn(rangeFile, reservedFile, []int{3000, 59492, 59492, 55432, 61000})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{59492, 55432}) {
		t.Fatalf("reserved %v, want [59492 55432] (3000 and 61000 lie outside the range)", got)
	}
	after, _ := os.ReadFile(reservedFile)
	if string(after) != "8000-8010,55432,59492,55432" {
		t.Fatalf("the reserved list is %q: the kernel's own ports must stay and ours be added", after)
	}
}

func TestReservePortsWritesNothingWhenNoPortIsInTheRange(t *testing.T) {
	dir := t.TempDir()
	rangeFile, reservedFile := filepath.Join(dir, "range"), filepath.Join(dir, "reserved")
	_ = os.WriteFile(rangeFile, []byte("32768 60999"), 0o644)
	got, err := reservePortsIn(rangeFile, reservedFile, []int{3000, 7233})
	if err != nil || got != nil {
		t.Fatalf("got %v, %v; want nothing reserved and no error", got, err)
	}
	if _, err := os.Stat(reservedFile); !os.IsNotExist(err) {
		t.Fatalf("the reserved file was written: %v", err)
	}
}
