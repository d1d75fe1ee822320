// Package metrics reads the metrics a stage produced, from whatever an
// unmodified training script leaves behind, in this order of precedence:
//
//  1. OUTPUT_DIR/metrics.json (name → number), and the last value of each
//     name in OUTPUT_DIR/metrics.jsonl;
//  2. TensorBoard event files (events.out.tfevents.*) anywhere under the
//     searched directories, read here: TFRecord framing with its masked
//     CRC-32C checks and the Event/Summary protobuf messages, no TensorFlow;
//  3. CSV metric logs: a metrics.csv with a step column, as PyTorch
//     Lightning's CSVLogger writes;
//  4. the stage's declared output patterns (regular expressions whose named
//     groups are metrics and whose step group is the step);
//  5. the default output capture: name=value tokens and name: value lines
//     that are plainly reports, not prose (see Capture).
//
// A name found by several sources takes the value of the first in that
// order; the default capture is a fallback, read only when the other four
// found nothing. Every metric keeps where it came from (record.MetricSource).
//
// It owns the file formats and the capture rules; it does not decide which
// stage's directories are searched (runner does) nor record anything in the
// ledger.
package metrics
