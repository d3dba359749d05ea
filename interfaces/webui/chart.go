package webui

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"cadre/domain/task"
)

// Chart geometry, in SVG user units (the chart scales to its box).
const (
	chartW, chartH = 600.0, 160.0
	// chartMaxBins bounds the points of a line; wider spans get wider bins.
	chartMaxBins = 60
)

// chartColors tell nodes apart; the legend repeats the node id, so colour
// is never the only cue.
var chartColors = []string{"#2563a6", "#c2410c", "#15803d", "#7e22ce", "#b45309", "#0e7490", "#be185d", "#4d7c0f"}

// rateChart is a line chart of a rate per series over time, drawn as SVG by
// the template (no script, so it also works in the live fragment).
type rateChart struct {
	Title  string
	Series []chartSeries
	// YMax is the top of the y axis (a rate per second), YLabel its text.
	YMax, YLabel string
	// Span describes the x axis ("last 42 s"), BinLabel the bin width.
	Span, BinLabel string
	W, H           float64
	// Grid are the y positions of the horizontal grid lines.
	Grid []float64
	// Summary says the same for screen readers.
	Summary string
}

type chartSeries struct {
	Name, Color string
	Points      string // "x,y x,y …" for an SVG polyline
	// Total is the count behind the line; Peak the highest value.
	Total int64
	Peak  string
	// Note is the legend's text after the name.
	Note string
}

// bucketRateChart charts COMPLETE buckets per second per node, from the
// first claim to the last completion (or now while the task runs); nil when
// no bucket is complete yet.
func bucketRateChart(bs []task.Bucket, now time.Time, running bool) *rateChart {
	var start, end time.Time
	byNode := map[string][]time.Time{}
	for _, b := range bs {
		if b.ClaimedAt != nil && (start.IsZero() || b.ClaimedAt.Before(start)) {
			start = *b.ClaimedAt
		}
		if b.State != task.BucketComplete || b.CompletedAt == nil {
			continue
		}
		byNode[b.Node] = append(byNode[b.Node], *b.CompletedAt)
		if b.CompletedAt.After(end) {
			end = *b.CompletedAt
		}
	}
	if len(byNode) == 0 {
		return nil
	}
	if running && now.After(end) {
		end = now
	}
	if start.IsZero() || start.After(end) {
		start = end
	}
	span := end.Sub(start)
	bin := time.Second
	if span > chartMaxBins*time.Second {
		bin = (span/chartMaxBins + time.Second - 1).Truncate(time.Second)
	}
	bins := int(span/bin) + 1
	nodes := make([]string, 0, len(byNode))
	for n := range byNode {
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, naturalCompare)
	rates := make([][]float64, len(nodes))
	for i, n := range nodes {
		counts := make([]float64, bins)
		for _, at := range byNode[n] {
			k := min(max(int(at.Sub(start)/bin), 0), bins-1)
			counts[k]++
		}
		for k := range counts {
			counts[k] /= bin.Seconds()
		}
		// The last bin is still filling while the task runs: a rate over
		// the part that has passed, so the line does not dip at its end.
		if last := end.Sub(start.Add(time.Duration(bins-1) * bin)); running && last > 0 && last < bin {
			counts[bins-1] *= bin.Seconds() / max(last.Seconds(), 0.5)
		}
		rates[i] = counts
	}
	c := newLineChart("Buckets completed per second, per node", "buckets/s",
		"over "+formatUptime(span.Round(time.Second)), "per "+formatUptime(bin), nodes, rates)
	var summary []string
	for i := range c.Series {
		s := &c.Series[i]
		s.Total = int64(len(byNode[s.Name]))
		s.Note = fmt.Sprintf("%d, peak %s/s", s.Total, s.Peak)
		summary = append(summary, fmt.Sprintf("%s %d buckets, peak %s/s", s.Name, s.Total, s.Peak))
	}
	c.Summary = c.Title + " " + c.Span + ": " + strings.Join(summary, "; ")
	return c
}

// newLineChart lays out one line per name over equally spaced points.
func newLineChart(title, yLabel, span, binLabel string, names []string, values [][]float64) *rateChart {
	peak, bins := 0.0, 1
	for _, vs := range values {
		bins = max(bins, len(vs))
		for _, v := range vs {
			peak = math.Max(peak, v)
		}
	}
	yMax := niceCeil(peak)
	c := &rateChart{Title: title, W: chartW, H: chartH, YMax: strconv.FormatFloat(yMax, 'f', -1, 64), YLabel: yLabel,
		Span: span, BinLabel: binLabel}
	for _, f := range []float64{0.25, 0.5, 0.75} {
		c.Grid = append(c.Grid, chartH*(1-f))
	}
	for i, n := range names {
		s := chartSeries{Name: n, Color: chartColors[i%len(chartColors)]}
		var pts []string
		p := 0.0
		vs := values[i]
		for k, v := range vs {
			x := 0.0
			if bins > 1 {
				x = chartW * float64(k+bins-len(vs)) / float64(bins-1) // shorter series end at the right
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, chartH*(1-v/yMax)))
			p = math.Max(p, v)
		}
		if len(vs) == 1 { // one point: draw it as a flat line across
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", chartW, chartH*(1-vs[0]/yMax)))
		}
		s.Points = strings.Join(pts, " ")
		s.Peak = strconv.FormatFloat(p, 'f', 1, 64)
		c.Series = append(c.Series, s)
	}
	return c
}

// niceCeil rounds a positive maximum up to 1, 2 or 5 times a power of ten,
// so the axis reads well; 1 for zero.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
