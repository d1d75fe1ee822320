package gpu

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteInventory prints the GPUs as a table, then the driver and CUDA
// versions; queryErr (from Query) or an empty inventory print as
// "no NVIDIA GPU found (why)".
func WriteInventory(w io.Writer, inv *Inventory, queryErr error) error {
	switch {
	case queryErr != nil:
		reason := queryErr.Error()
		if u, ok := queryErr.(*UnavailableError); ok {
			reason = u.Reason
		}
		_, err := fmt.Fprintf(w, "no NVIDIA GPU found (%s)\n", reason)
		return err
	case inv == nil || len(inv.Devices) == 0:
		_, err := fmt.Fprintf(w, "no NVIDIA GPU found (nvidia-smi lists none; driver %s)\n", orDash(inv.driver()))
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GPU\tNAME\tMEMORY USED / TOTAL\tUTIL\tMEM UTIL\tPOWER\tTEMP\tBUS ID\tUUID")
	for _, d := range inv.Devices {
		fmt.Fprintf(tw, "%d\t%s\t%s / %d MiB\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Index, d.Name,
			num(d.MemoryUsedMiB, ""), d.MemoryMiB, num(d.UtilPct, "%"), num(d.MemUtilPct, "%"),
			num(d.PowerW, " W"), num(d.TempC, " °C"), orDash(d.PCIBusID), d.UUID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "driver %s, CUDA %s\n", orDash(inv.Driver), orDash(inv.CUDA))
	return err
}

func (inv *Inventory) driver() string {
	if inv == nil {
		return ""
	}
	return inv.Driver
}

// num prints an optional value with its unit, "-" when absent.
func num(v *float64, unit string) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64) + unit
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteFrameworks prints what PyTorch and TensorFlow see.
func WriteFrameworks(w io.Writer, f *Frameworks) error {
	fmt.Fprintf(w, "python %s (%s)\n", f.Python, f.Executable)
	switch t := f.Torch; {
	case t == nil:
		fmt.Fprintln(w, "torch: not installed")
	case t.Version == "":
		fmt.Fprintf(w, "torch: import failed: %s\n", t.Error)
	default:
		fmt.Fprintf(w, "torch %s, built for CUDA %s, cuDNN %s\n", t.Version, orDash(t.CUDA), orDash(CuDNNVersion(t.CuDNN)))
		if t.CUDAAvailable {
			fmt.Fprintf(w, "  CUDA available: %d device(s): %s\n", t.DeviceCount, strings.Join(t.Devices, ", "))
		} else {
			fmt.Fprintln(w, "  CUDA available: no")
		}
		if t.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", t.Error)
		}
	}
	switch t := f.TensorFlow; {
	case t == nil:
		fmt.Fprintln(w, "tensorflow: not installed")
	case t.Version == "":
		fmt.Fprintf(w, "tensorflow: import failed: %s\n", t.Error)
	default:
		build := "a CPU-only build"
		if t.BuiltWithCUDA {
			build = fmt.Sprintf("built for CUDA %s, cuDNN %s", orDash(t.CUDA), orDash(t.CuDNN))
		}
		fmt.Fprintf(w, "tensorflow %s, %s\n", t.Version, build)
		gpus := "none"
		if len(t.GPUs) > 0 {
			gpus = strings.Join(t.GPUs, ", ")
		}
		fmt.Fprintf(w, "  GPUs: %s\n", gpus)
		if t.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", t.Error)
		}
	}
	return nil
}

// WriteChecks prints the checks as a pass/fail table, then one line: how
// many passed on the GPU, or that the checks ran on CPU, where the failed
// checks other than setup ones are no error (see Verdict).
func WriteChecks(w io.Writer, checks []Check, gpuPresent bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FRAMEWORK\tCHECK\tRESULT\tVALUE\tDETAIL")
	failed, excused := 0, 0
	for _, c := range checks {
		result := "pass"
		switch {
		case c.Skipped():
			result = "skip"
		case !c.OK:
			result = "FAIL"
			failed++
			if !c.Setup {
				excused++
			}
		}
		value := "-"
		if c.Value != nil {
			value = strings.TrimSpace(formatValue(*c.Value) + " " + c.Unit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Framework, c.Name, result, value, firstLine([]byte(c.Detail)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !gpuPresent {
		note := ""
		if excused > 0 {
			note = fmt.Sprintf("; %d check(s) failed for want of one, which is no error", excused)
		}
		_, err := fmt.Fprintf(w, "no GPU: the checks ran on CPU%s\n", note)
		return err
	}
	_, err := fmt.Fprintf(w, "%d of %d checks passed\n", len(checks)-failed, len(checks))
	return err
}

// formatValue prints a measured value: whole numbers as they are, others
// with four significant digits, or one decimal from 1000 up (never in
// exponent form).
func formatValue(v float64) string {
	switch {
	case math.Abs(v) < 1e15 && v == math.Trunc(v):
		return strconv.FormatInt(int64(v), 10)
	case v >= 1000 || v <= -1000:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
