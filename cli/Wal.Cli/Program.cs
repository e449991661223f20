using Wal.Cli;

return await WalCommandLine.RunAsync(args);
