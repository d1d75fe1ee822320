package proc

// ExitInterrupted is the exit status of a run stopped by Ctrl-C or a
// timeout: 128 + SIGINT, as a shell reports it.
const ExitInterrupted = 130

// InterruptedError is a step stopped by Ctrl-C or a timeout outside any stage.
type InterruptedError struct{ What string }

func (e *InterruptedError) Error() string { return e.What + ": interrupted" }

// ExitStatus is the status Mage exits with for this error.
func (e *InterruptedError) ExitStatus() int { return ExitInterrupted }
