namespace Wal.Ingress.Tests;

public sealed class IngressOptionsTests
{
    private static IngressOptions Valid() => new() { BootstrapServers = "localhost:9092" };

    [Fact]
    public void Errors_Defaults_None() => Assert.Empty(Valid().Errors());

    [Theory]
    [InlineData("acks", "1")]
    [InlineData("enable.idempotence", "false")]
    [InlineData("message.timeout.ms", "600000")]
    [InlineData("topic.message.timeout.ms", "600000")]
    [InlineData("topic.delivery.timeout.ms", "600000")]
    [InlineData("topic.acks", "1")]
    [InlineData("delivery.report.only.error", "true")]
    [InlineData("dotnet.producer.enable.background.poll", "false")]
    [InlineData("dotnet.producer.delivery.report.fields", "key")]
    public void Errors_ProducerSettingThatBreaksDurability_NamedAndRefused(string name, string value)
    {
        var options = Valid();
        options.ProducerSettings[name] = value;

        var error = Assert.Single(options.Errors());

        Assert.StartsWith("ProducerSettings:", error, StringComparison.Ordinal);
        Assert.Contains($"'{name}'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_MaxReceivingBytesBelowTheMessageLimit_NamedAndRefused()
    {
        // Under the largest message, a message of that size could never be received at all.
        var options = Valid();
        options.MaxReceivingBytes = options.MaxReceiveMessageSize - 1;

        var error = Assert.Single(options.Errors());

        Assert.StartsWith("MaxReceivingBytes:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_NoConnectionAllowed_NamedAndRefused()
    {
        var options = Valid();
        options.MaxConnections = 0;

        Assert.StartsWith("MaxConnections:", Assert.Single(options.Errors()), StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_TuningProducerSetting_Accepted()
    {
        var options = Valid();
        options.ProducerSettings["reconnect.backoff.max.ms"] = "100";

        Assert.Empty(options.Errors());
    }

    [Fact]
    public void Errors_AdminClientsWithoutMutualTls_Refused()
    {
        var options = Valid();
        options.AdminClients = ["ops"];

        Assert.StartsWith("AdminClients:", Assert.Single(options.Errors()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(7200)]
    public void Errors_StreamAckTimeoutOutOfRange_Refused(double seconds)
    {
        var options = Valid();
        options.StreamAckTimeout = TimeSpan.FromSeconds(seconds);

        Assert.StartsWith("StreamAckTimeout:", Assert.Single(options.Errors()), StringComparison.Ordinal);
    }
}
