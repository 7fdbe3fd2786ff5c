using System.Globalization;
using System.Text.Json;
using Rewind.Trace.Positions;

namespace Rewind.Query.Introspection;

/// <summary>
/// The jsonl form of the model's objects: one JSON object per line, properties named as TTD names
/// them, numbers as numbers, addresses as "0x..." hex strings, positions as "SEQ:STEPS" strings.
/// </summary>
public static class ModelJson
{
    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Writes an event; <paramref name="describe"/> names a code address at an instruction (module!symbol+0x..), for an exception's pc.</summary>
    public static void Write(Utf8JsonWriter json, TimelineEvent e, Func<ulong, long, string?>? describe = null)
    {
        json.WriteStartObject();
        json.WriteString("Type", e.Type.ToString());
        json.WriteString("Position", e.Position.ToString());
        if (e.Thread is { } thread)
        {
            json.WritePropertyName("Thread");
            Write(json, thread);
        }
        if (e.Module is { } module)
        {
            json.WritePropertyName("Module");
            Write(json, module);
        }
        if (e.Exception is { } exception)
        {
            json.WritePropertyName("Exception");
            json.WriteStartObject();
            json.WriteString("Name", exception.Name);
            json.WriteNumber("Code", exception.Code);
            json.WriteString("ProgramCounter", Hex(exception.ProgramCounter));
            if (describe?.Invoke(exception.ProgramCounter, e.Position.Instruction) is { } symbol)
                json.WriteString("Symbol", symbol);
            json.WriteString("Address", Hex(exception.Address));
            json.WriteNumber("SignalCode", exception.SignalCode);
            json.WriteBoolean("Handled", exception.Handled);
            json.WriteEndObject();
        }
        if (e.Type == TimelineEventType.ProcessExit)
        {
            if (e.ProcessId is { } pid)
                json.WriteNumber("ProcessId", pid);
            if (e.ExitCode is { } code)
                json.WriteNumber("ExitCode", code);
            else
                json.WriteNull("ExitCode");
        }
        json.WriteEndObject();
    }

    public static void Write(Utf8JsonWriter json, ThreadInfo thread)
    {
        json.WriteStartObject();
        json.WriteNumber("UniqueId", thread.UniqueId);
        json.WriteNumber("Id", thread.Id);
        json.WriteNumber("ProcessId", thread.ProcessId);
        WriteLifetime(json, "Lifetime", thread.Lifetime);
        WriteLifetime(json, "ActiveTime", thread.ActiveTime);
        json.WriteEndObject();
    }

    public static void Write(Utf8JsonWriter json, ModuleInfo module)
    {
        json.WriteStartObject();
        json.WriteString("Name", module.Name);
        json.WriteString("Path", module.Path);
        json.WriteString("Address", Hex(module.Address));
        json.WriteNumber("Size", module.Size);
        json.WriteString("Loaded", module.Loaded.ToString());
        WritePosition(json, "Unloaded", module.Unloaded);
        json.WriteEndObject();
    }

    static void WriteLifetime(Utf8JsonWriter json, string name, Lifetime lifetime)
    {
        json.WriteStartObject(name);
        json.WriteString("Start", lifetime.Start.ToString());
        json.WriteString("End", lifetime.End.ToString());
        json.WriteEndObject();
    }

    static void WritePosition(Utf8JsonWriter json, string name, Position? position)
    {
        if (position is { } value)
            json.WriteString(name, value.ToString());
        else
            json.WriteNull(name);
    }
}
