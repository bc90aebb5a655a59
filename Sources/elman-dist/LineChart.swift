import ElmanData
import Foundation

/// A minimal SVG line chart: ticks at round values, an optional logarithmic y axis, a shaded band.
struct LineChart {
    var title: String
    var xLabel: String
    var yLabel: String
    var series: [(name: String, color: String, points: [(Double, Double)])]
    /// An x position to mark with a dashed line (the start of validation).
    var marker: Double?
    /// A y axis in powers of ten (losses, which fall over decades).
    var logY = false
    /// A shaded band (x, lower, upper): a prediction interval.
    var band: (name: String, points: [(Double, Double, Double)])?
    /// The x values are times (seconds since 1970): ticks at round dates and hours.
    var xTimes = false

    func svg(width: Double = 900, height: Double = 480) -> String {
        let ys = series.flatMap { $0.points.map(\.1) } + (band?.points.flatMap { [$0.1, $0.2] } ?? [])
        let xs = series.flatMap { $0.points.map(\.0) }
        // On a log axis only positive values can be drawn.
        let shown = ys.filter { $0.isFinite && (!logY || $0 > 0) }.map { logY ? log10($0) : $0 }
        let x0 = xs.filter(\.isFinite).min() ?? 0, x1 = max(xs.filter(\.isFinite).max() ?? 1, x0 + 1e-9)
        var y0 = shown.min() ?? 0, y1 = shown.max() ?? 1
        if y1 - y0 < 1e-12 { (y0, y1) = (y0 - 1, y1 + 1) }
        let pad = (y1 - y0) * 0.05
        (y0, y1) = (y0 - pad, y1 + pad)
        let left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (width - left - right) }
        func py(_ y: Double) -> Double {
            let v = logY ? log10(y) : y
            return top + (y1 - v) / (y1 - y0) * (height - top - bottom)
        }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        }
        var s =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">\(esc(title))</text>\n"
        let yTicks = logY ? Ticks.logarithmic(pow(10, y0), pow(10, y1)) : Ticks.round(y0, y1)
        for yv in yTicks {
            s +=
                "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(py(yv)))\" y2=\"\(f(py(yv)))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(py(yv) + 4))\" text-anchor=\"end\">\(Ticks.label(yv))</text>\n"
        }
        let xTicks = xTimes ? Ticks.times(x0, x1) : Ticks.round(x0, x1).map { ($0, Ticks.label($0)) }
        for (xv, text) in xTicks {
            s +=
                "<text x=\"\(f(px(xv)))\" y=\"\(f(height - bottom + 18))\" text-anchor=\"middle\">\(text)</text>\n"
        }
        s += "<text x=\"\(f(width / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        s +=
            "<text x=\"16\" y=\"\(f(height / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(height / 2)))\">\(esc(yLabel + (logY ? " (log scale)" : "")))</text>\n"
        if let band, !band.points.isEmpty {
            let upper = band.points.map { "\(f(px($0.0))),\(f(py($0.2)))" }
            let lower = band.points.reversed().map { "\(f(px($0.0))),\(f(py($0.1)))" }
            s += "<polygon fill=\"#d62728\" fill-opacity=\"0.15\" stroke=\"none\" points=\"\((upper + lower).joined(separator: " "))\"/>\n"
        }
        if let m = marker, m >= x0, m <= x1 {
            s +=
                "<line x1=\"\(f(px(m)))\" x2=\"\(f(px(m)))\" y1=\"\(f(top))\" y2=\"\(f(height - bottom))\" stroke=\"#888\" stroke-dasharray=\"4 4\"/>\n"
            s += "<text x=\"\(f(px(m) + 4))\" y=\"\(f(top + 12))\" fill=\"#666\">validation</text>\n"
        }
        var legend = 0.0
        for line in series where !line.points.isEmpty {
            let pts = line.points.filter { $0.0.isFinite && $0.1.isFinite && (!logY || $0.1 > 0) }
                .map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\" points=\"\(pts)\"/>\n"
            s +=
                "<rect x=\"\(f(left + 10))\" y=\"\(f(top + 8 + legend * 18))\" width=\"14\" height=\"3\" fill=\"\(line.color)\"/>\n"
            s += "<text x=\"\(f(left + 30))\" y=\"\(f(top + 13 + legend * 18))\">\(esc(line.name))</text>\n"
            legend += 1
        }
        if let band {
            s +=
                "<rect x=\"\(f(left + 10))\" y=\"\(f(top + 5 + legend * 18))\" width=\"14\" height=\"9\" fill=\"#d62728\" fill-opacity=\"0.15\"/>\n"
            s += "<text x=\"\(f(left + 30))\" y=\"\(f(top + 13 + legend * 18))\">\(esc(band.name))</text>\n"
        }
        return s + "</svg>\n"
    }
}

/// Axis ticks people read: round values 1, 2 or 5 × 10ⁿ apart, and powers of ten on a log axis.
enum Ticks {
    /// At most `count` ticks inside [lo, hi] (at least about a third as many), at multiples of
    /// a step of 1, 2 or 5 × 10ⁿ: the smallest such step that keeps them within `count`.
    static func round(_ lo: Double, _ hi: Double, count: Int = 8) -> [Double] {
        guard lo.isFinite, hi.isFinite, hi > lo else { return [] }
        let raw = (hi - lo) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Double] = []
        var v = (lo / step).rounded(.up) * step
        while v <= hi + step * 1e-9 {
            ticks.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return ticks
    }

    /// Powers of ten inside [lo, hi] (both positive); with fewer than three, 1, 2 and 5 of each decade.
    static func logarithmic(_ lo: Double, _ hi: Double) -> [Double] {
        guard lo > 0, hi > lo, lo.isFinite, hi.isFinite else { return [] }
        let decades = Int(floor(log10(lo)))...Int(ceil(log10(hi)))
        let powers = decades.map { pow(10, Double($0)) }.filter { $0 >= lo && $0 <= hi }
        if powers.count >= 3 { return powers }
        return decades.flatMap { d in [1.0, 2, 5].map { $0 * pow(10, Double(d)) } }.filter { $0 >= lo && $0 <= hi }
    }

    /// Ticks at round times inside [lo, hi] (seconds since 1970), at most `count`: every 1, 2,
    /// 3, 6 or 12 hours, 1, 2, 3, 7 or 14 days, 1, 3 or 6 months, or 1, 2, 5, 10… years, the smallest
    /// step that keeps within `count`; labelled as dates, with the hour when the step is shorter
    /// than a day.
    static func times(_ lo: Double, _ hi: Double, count: Int = 8) -> [(Double, String)] {
        guard lo.isFinite, hi.isFinite, hi > lo else { return [] }
        let hour = 3600.0, day = 86_400.0
        for s in [1, 2, 3, 6, 12].map({ Double($0) * hour }) + [1, 2, 3, 7, 14].map({ Double($0) * day })
        where (hi - lo) / s <= Double(count) {
            var ticks: [(Double, String)] = []
            var v = (lo / s).rounded(.up) * s
            while v <= hi {
                let text = Timestamp.format(v, dateOnly: s >= day)
                // "2010-12-01T06:00:00Z" → "2010-12-01 06:00"
                ticks.append((v, s >= day ? text : String(text.prefix(16)).replacingOccurrences(of: "T", with: " ")))
                v += s
            }
            return ticks
        }
        // Calendar months and years: the first of a month, every `m` months.
        let (y0, m0, _) = Timestamp.date(lo)
        let span = Double((Timestamp.date(hi).year - y0) * 12 + Timestamp.date(hi).month - m0 + 1)
        let years = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].map { 12 * $0 }
        let months = ([1, 3, 6] + years).first { span / Double($0) <= Double(count) } ?? 12_000
        var ticks: [(Double, String)] = []
        var k = (y0 * 12 + m0 - 1 + months - 1) / months * months
        while true {
            let t = Double(Timestamp.daysFromCivil(k / 12, k % 12 + 1, 1)) * day
            if t > hi { break }
            if t >= lo {
                let text = Timestamp.format(t, dateOnly: true)
                ticks.append((t, months >= 12 ? String(text.prefix(4)) : String(text.prefix(7))))
            }
            k += months
        }
        return ticks
    }

    /// A tick's label: as few digits as its value needs (0.25, 1000, 2e-05).
    static func label(_ v: Double) -> String { String(format: "%.6g", v) }
}
