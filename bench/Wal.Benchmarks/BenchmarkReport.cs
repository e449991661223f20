using System.Globalization;
using System.Text;

namespace Wal.Benchmarks;

/// <summary>Figures of one benchmark run, and whether its target was met.</summary>
internal sealed record BenchmarkReport(string Name, IReadOnlyList<(string Figure, double Value, string Unit)> Figures, string Target, bool TargetMet)
{
    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## {Name}");
        foreach (var (figure, value, unit) in Figures)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {figure,-44} {value,14:N2} {unit}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  target: {Target} -> {(TargetMet ? "met" : "NOT met")}");
        return text.ToString();
    }
}
