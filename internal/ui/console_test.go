package ui

import (
	"github.com/chromedp/cdproto/runtime"
)

// jsProblem is what a CDP event says went wrong in the page: an uncaught
// exception or a console.error.
func jsProblem(ev any) []string {
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		return []string{"exception: " + e.ExceptionDetails.Text + " " + describe(e.ExceptionDetails.Exception)}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			return []string{"console.error: " + join(parts)}
		}
	}
	return nil
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	return o.Description
}

func join(p []string) string {
	out := ""
	for i, s := range p {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
