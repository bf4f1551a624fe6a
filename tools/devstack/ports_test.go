package devstack

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The stack's ports inside the kernel's ephemeral range are added to what it already reserves
// (ports outside it, and ports reserved before, are left alone), written back in the kernel's own
// form, and only the added ones are given back.
func TestReservePortsAddsTheStacksPortsAndReleasesOnlyThose(t *testing.T) {
	dir := t.TempDir()
	rangeFile, reservedFile := filepath.Join(dir, "range"), filepath.Join(dir, "reserved")
	if err := os.WriteFile(rangeFile, []byte("32768\t60999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reservedFile, []byte("8000-8002,55432\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	added, err := reservePortsIn(rangeFile, reservedFile, []int{3000, 59493, 59492, 59492, 55432, 61000})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(added, []int{59493, 59492}) {
		t.Fatalf("added %v, want [59493 59492] (3000 and 61000 lie outside the range, 55432 was reserved)", added)
	}
	if got, _ := os.ReadFile(reservedFile); string(got) != "8000-8002,55432,59492-59493" {
		t.Fatalf("the reserved list is %q", got)
	}
	if err := releasePortsIn(reservedFile, added); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(reservedFile); string(got) != "8000-8002,55432" {
		t.Fatalf("after the release the reserved list is %q, want what it was", got)
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
