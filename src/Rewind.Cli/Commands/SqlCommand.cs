using System.CommandLine;
using System.Data.Common;
using Rewind.Export;
using Rewind.Export.Sql;

namespace Rewind.Cli.Commands;

/// <summary>rewind sql: SQL over the trace's tables, with DuckDB embedded; the tables a query names are exported on first use.</summary>
internal static class SqlCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var query = new Argument<string?>("query") { Description = "The query (none: an interactive prompt).", Arity = ArgumentArity.ZeroOrOne };
        var format = new Option<string>("--format")
        {
            Description = "Output: 'grid' (like dx -g), 'csv' or 'jsonl' (an object per row).",
            DefaultValueFactory = _ => "grid",
        };
        format.AcceptOnlyFromAmong("grid", "csv", "jsonl");
        var command = new Command("sql",
            "Run SQL (DuckDB's dialect) over the trace's tables: " + string.Join(", ", ExportSchema.Tables.Select(t => t.Name))
            + " (columns in docs/export.md). The tables a query names are exported the first time (as rewind export does) and kept beside the trace "
            + "(TRACE.rwdp, replaced when the trace changes). ttd_position(sequence, steps) prints a position as TTD does. With no query, a prompt.")
        {
            trace, query, format,
        };
        command.SetAction(parse =>
        {
            var output = Enum.Parse<SqlFormat>(parse.GetValue(format)!, ignoreCase: true);
            if (!TraceCommandLine.LoadEngine())
                return 1;
            var path = parse.GetValue(trace)!;
            return TraceCommandLine.Replaying(() =>
            {
                if (!File.Exists(path))
                    return Diagnostics.Fail($"{path}: no such file");
                using var session = SqlSession.Open(path);
                TraceCommandLine.WarnIfIncomplete(session.Trace);
                if (parse.GetValue(query) is { } text)
                    return Run(session, path, text, output) ? 0 : 1;
                Interactive(session, path, output);
                return 0;
            });
        });
        return command;
    }

    static bool Run(SqlSession session, string path, string sql, SqlFormat format)
    {
        try
        {
            var missing = session.Missing(sql);
            var description = $"exporting {string.Join(", ", missing.Select(t => t.Name))} of {Path.GetFileName(path)}";
            using var reader = missing.Count == 0 ? session.Query(sql) : ExportProgressBar.Run(description, progress => session.Query(sql, progress));
            using var stdout = Console.OpenStandardOutput();
            SqlOutput.Write(reader, format, stdout);
            return true;
        }
        catch (Exception e) when (e is SqlException or DbException)
        {
            Diagnostics.Fail(FirstLine(e.Message));
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Diagnostics.Fail($"cannot export the tables to {session.CacheFolder}: {e.Message}");
            return false;
        }
    }

    /// <summary>DuckDB's messages can run over several lines (the query, a caret): the first says what is wrong.</summary>
    static string FirstLine(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "the query failed" : lines[0];
    }

    static void Interactive(SqlSession session, string path, SqlFormat format)
    {
        var editor = new LineEditor("sql_history");
        Console.Error.WriteLine("rewind sql: enter queries such as SELECT name, count(*) FROM syscalls GROUP BY 1; (a query ends with ';' and may span lines); q quits.");
        var pending = "";
        while (true)
        {
            var line = editor.ReadLine(pending.Length == 0 ? "sql> " : "...> ");
            if (line is null)
                break;
            var text = line.Trim();
            if (pending.Length == 0 && text is "q" or "quit" or "exit" or ".exit" or ".quit")
                break;
            if (text.Length == 0)
                continue;
            // As in DuckDB's own shell, a query ends with ';' (outside quotes), and goes on over lines until then.
            pending = pending.Length == 0 ? text : pending + "\n" + text;
            if (!Complete(pending))
                continue;
            editor.Remember(pending.Replace('\n', ' '));
            Run(session, path, pending, format);
            pending = "";
        }
    }

    static bool Complete(string sql)
    {
        var quoted = false;
        var last = ' ';
        foreach (var c in sql)
        {
            if (c == '\'')
                quoted = !quoted;
            if (!char.IsWhiteSpace(c))
                last = c;
        }
        return !quoted && last == ';';
    }
}
