namespace Wal.Cli.Tests.Operator;

/// <summary>The operator tests share one stack (starting one takes seconds); each uses its own namespace.</summary>
[CollectionDefinition(Name)]
public sealed class OperatorCollection : ICollectionFixture<OperatorStackFixture>
{
    public const string Name = "operator stack";
}
