using System.Globalization;
using System.Numerics;
using System.Text;

namespace Rewind.Query.Dx;

/// <summary>
/// An expression that cannot be parsed or evaluated: a one-line message and the span of the
/// expression it is about (<see cref="Offset"/>, 0-based), for a caret under the bad spot.
/// </summary>
public sealed class DxException(string message, int offset, int length = 1) : Exception(message)
{
    public int Offset { get; } = offset;
    public int Length { get; } = Math.Max(1, length);

    /// <summary>The expression with a caret line under the bad spot.</summary>
    public string Pointer(string expression)
    {
        var at = Math.Clamp(Offset, 0, expression.Length);
        return expression + "\n" + new string(' ', at) + "^" + (Length > 1 ? new string('~', Math.Min(Length, expression.Length - at) - 1) : "");
    }
}

internal enum TokenKind
{
    End,
    Identifier,
    /// <summary>A pseudo-register: @$name.</summary>
    Variable,
    /// <summary>module!name, or &amp;name: a symbol's address.</summary>
    Symbol,
    Number,
    String,
    Dot,
    Comma,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Arrow,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    And,
    Or,
    Not,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
}

internal readonly record struct Token(TokenKind Kind, string Text, int Offset, BigInteger Number = default)
{
    public int Length => Math.Max(1, Text.Length);

    public string Describe() => Kind switch
    {
        TokenKind.End => "the end of the expression",
        TokenKind.String => $"string \"{Text}\"",
        TokenKind.Number => $"number {Text}",
        TokenKind.Identifier => $"'{Text}'",
        TokenKind.Variable => $"'{Text}'",
        _ => $"'{Text}'",
    };
}

/// <summary>Splits a dx expression into tokens. Numbers: 0x hex, 0n or plain decimal, and WinDbg's 00000000`004011d6 addresses (hex).</summary>
internal static class DxLexer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
                i++;
            if (i >= text.Length)
            {
                tokens.Add(new Token(TokenKind.End, "", text.Length));
                return tokens;
            }
            var start = i;
            var c = text[i];
            if (c == '@')
            {
                i++;
                if (i < text.Length && text[i] == '$')
                    i++;
                var nameStart = i;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_'))
                    i++;
                if (i == nameStart)
                    throw new DxException("expected a name after '@$' (like @$cursession)", start, i - start);
                tokens.Add(new Token(TokenKind.Variable, text[start..i], start));
            }
            else if ((char.IsLetter(c) || c == '_') && SymbolEnd(text, i) is var symbolEnd and > 0)
            {
                i = symbolEnd;
                tokens.Add(new Token(TokenKind.Symbol, text[start..i], start));
            }
            else if (c == '&' && i + 1 < text.Length && text[i + 1] != '&')
            {
                i++;
                var nameEnd = SymbolEnd(text, i) is var end and > 0 ? end : NameEnd(text, i);
                if (nameEnd == i)
                    throw new DxException("expected a symbol after '&' (&counter, &prog!counter)", start);
                i = nameEnd;
                tokens.Add(new Token(TokenKind.Symbol, text[(start + 1)..i], start));
            }
            else if (char.IsLetter(c) || c == '_')
            {
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_'))
                    i++;
                tokens.Add(new Token(TokenKind.Identifier, text[start..i], start));
            }
            else if (char.IsDigit(c))
            {
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '`'))
                    i++;
                var literal = text[start..i];
                tokens.Add(new Token(TokenKind.Number, literal, start, ParseNumber(literal, start)));
            }
            else if (c == '"')
            {
                i++;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= text.Length)
                        throw new DxException("the string is not closed: a '\"' is missing", start, i - start);
                    if (text[i] == '"')
                    {
                        i++;
                        break;
                    }
                    if (text[i] == '\\' && i + 1 < text.Length)
                        i++;
                    value.Append(text[i++]);
                }
                tokens.Add(new Token(TokenKind.String, value.ToString(), start));
            }
            else
            {
                var two = i + 1 < text.Length ? text.Substring(i, 2) : "";
                var (kind, length) = two switch
                {
                    "=>" => (TokenKind.Arrow, 2),
                    "==" => (TokenKind.Equal, 2),
                    "!=" => (TokenKind.NotEqual, 2),
                    "<=" => (TokenKind.LessEqual, 2),
                    ">=" => (TokenKind.GreaterEqual, 2),
                    "&&" => (TokenKind.And, 2),
                    "||" => (TokenKind.Or, 2),
                    _ => c switch
                    {
                        '.' => (TokenKind.Dot, 1),
                        ',' => (TokenKind.Comma, 1),
                        '(' => (TokenKind.LeftParen, 1),
                        ')' => (TokenKind.RightParen, 1),
                        '[' => (TokenKind.LeftBracket, 1),
                        ']' => (TokenKind.RightBracket, 1),
                        '<' => (TokenKind.Less, 1),
                        '>' => (TokenKind.Greater, 1),
                        '!' => (TokenKind.Not, 1),
                        '+' => (TokenKind.Plus, 1),
                        '-' => (TokenKind.Minus, 1),
                        '*' => (TokenKind.Star, 1),
                        '/' => (TokenKind.Slash, 1),
                        '%' => (TokenKind.Percent, 1),
                        '=' => throw new DxException("'=' is not an operator here: compare with '=='", start),
                        _ => throw new DxException($"unexpected character '{c}'", start),
                    },
                };
                i += length;
                tokens.Add(new Token(kind, text.Substring(start, length), start));
            }
        }
    }

    /// <summary>
    /// Where a symbol module!name that starts at <paramref name="start"/> ends, or 0 when there is
    /// none there. Module names hold dots, dashes and pluses (libc.so.6, libstdc++.so.6); names may
    /// hold * and ? wildcards. A '!' followed by '=' is the operator !=.
    /// </summary>
    static int SymbolEnd(string text, int start)
    {
        var i = start;
        while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '.' or '-' or '+'))
            i++;
        if (i + 1 >= text.Length || text[i] != '!' || !(char.IsLetter(text[i + 1]) || text[i + 1] is '_' or '*' or '?'))
            return 0;
        return NameEnd(text, i + 1);
    }

    static int NameEnd(string text, int start)
    {
        var i = start;
        while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '.' or '*' or '?' or '$' or '@'))
            i++;
        return i;
    }

    /// <summary>0x1f (hex), 0n31 (decimal), 31 (decimal), 00000000`0040101f (hex: an address as WinDbg shows it).</summary>
    static BigInteger ParseNumber(string literal, int offset)
    {
        var digits = literal.Replace("`", "", StringComparison.Ordinal);
        var ok = false;
        BigInteger value = default;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && digits.Length > 2)
            ok = BigInteger.TryParse("0" + digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        else if (digits.StartsWith("0n", StringComparison.OrdinalIgnoreCase) && digits.Length > 2)
            ok = BigInteger.TryParse(digits[2..], NumberStyles.None, CultureInfo.InvariantCulture, out value);
        else if (literal.Contains('`', StringComparison.Ordinal))
            ok = BigInteger.TryParse("0" + digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value); // an address as WinDbg shows it
        else
            ok = BigInteger.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok)
            throw new DxException($"'{literal}' is not a number: use decimal (123) or hex (0x7b)", offset, literal.Length);
        if (value >= BigInteger.One << 127)
            throw new DxException($"{literal} is too large", offset, literal.Length);
        return value;
    }
}
