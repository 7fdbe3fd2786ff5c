namespace Rewind.Query.Dx;

/// <summary>A node of a parsed dx expression, with the span of text it came from (for errors).</summary>
public abstract record DxNode(int Offset, int Length);

public sealed record DxNumber(Int128 Value, int Offset, int Length) : DxNode(Offset, Length);

public sealed record DxString(string Value, int Offset, int Length) : DxNode(Offset, Length);

/// <summary>@$cursession, @$curprocess...</summary>
public sealed record DxVariable(string Name, int Offset, int Length) : DxNode(Offset, Length);

/// <summary>A symbol (module!name, &amp;name): the address it names.</summary>
public sealed record DxSymbol(string Name, int Offset, int Length) : DxNode(Offset, Length);

/// <summary>A name: a lambda's parameter, or true/false.</summary>
public sealed record DxName(string Name, int Offset, int Length) : DxNode(Offset, Length);

public sealed record DxMember(DxNode Target, string Name, int Offset, int Length) : DxNode(Offset, Length);

public sealed record DxCall(DxNode Target, string Name, IReadOnlyList<DxNode> Arguments, int Offset, int Length) : DxNode(Offset, Length);

public sealed record DxIndex(DxNode Target, DxNode Index, int Offset, int Length) : DxNode(Offset, Length);

public sealed record DxBinary(string Operator, DxNode Left, DxNode Right, int Offset, int Length) : DxNode(Offset, Length);

public sealed record DxUnary(string Operator, DxNode Operand, int Offset, int Length) : DxNode(Offset, Length);

/// <summary>A C cast: (unsigned long*)0x404028 is a pointer to read through with '*'; (int)x cuts a number to the type.</summary>
public sealed record DxCast(string Type, int Pointers, DxNode Operand, int Offset, int Length) : DxNode(Offset, Length);

public sealed record DxLambda(string Parameter, DxNode Body, int Offset, int Length) : DxNode(Offset, Length);

/// <summary>
/// Parses dx expressions by recursive descent:
/// <code>
/// expression := lambda | or
/// lambda     := NAME '=>' expression | '(' NAME ')' '=>' expression
/// or         := and ('||' and)*
/// and        := comparison ('&amp;&amp;' comparison)*
/// comparison := sum (('==' | '!=' | '&lt;' | '&lt;=' | '&gt;' | '&gt;=') sum)?
/// sum        := product (('+' | '-') product)*
/// product    := unary (('*' | '/' | '%') unary)*
/// unary      := ('!' | '-' | '*') unary | '(' TYPE '*'* ')' unary | postfix
/// postfix    := primary ('.' NAME ('(' arguments? ')')? | '[' expression ']')*
/// primary    := NUMBER | STRING | @$NAME | MODULE!NAME | &amp;NAME | NAME | '(' expression ')'
/// </code>
/// </summary>
public sealed class DxParser
{
    readonly List<Token> _tokens;
    int _position;

    DxParser(string text) => _tokens = DxLexer.Tokenize(text);

    /// <summary>Parses <paramref name="text"/>; a syntax error is a <see cref="DxException"/> that points at the bad spot.</summary>
    public static DxNode Parse(string text)
    {
        var parser = new DxParser(text);
        if (parser.Peek.Kind == TokenKind.End)
            throw new DxException("the expression is empty", 0);
        var node = parser.Expression();
        if (parser.Peek.Kind != TokenKind.End)
            throw parser.Unexpected("an operator, '.', '[' or the end of the expression");
        return node;
    }

    Token Peek => _tokens[_position];

    Token PeekAt(int ahead) => _tokens[Math.Min(_position + ahead, _tokens.Count - 1)];

    Token Next()
    {
        var token = _tokens[_position];
        if (_position < _tokens.Count - 1)
            _position++;
        return token;
    }

    DxException Unexpected(string expected) =>
        new($"expected {expected}, found {Peek.Describe()}", Peek.Offset, Peek.Kind == TokenKind.End ? 1 : Peek.Length);

    Token Expect(TokenKind kind, string what)
    {
        if (Peek.Kind != kind)
            throw Unexpected(what);
        return Next();
    }

    static int End(DxNode node) => node.Offset + node.Length;

    /// <summary>
    /// How deep parentheses, arguments, lambdas and prefix operators may nest, and how long a chain
    /// of members may be: far beyond what anyone types, and well within the stack of the parser
    /// and the evaluator (both recurse along the nesting).
    /// </summary>
    public const int MaxNesting = 256;

    int _depth;

    DxNode Expression()
    {
        Enter();
        try
        {
            return ExpressionBody();
        }
        finally
        {
            _depth--;
        }
    }

    void Enter()
    {
        if (++_depth > MaxNesting)
            throw new DxException($"the expression nests more than {MaxNesting} levels deep (parentheses, arguments, lambdas, '!' and '-')", Peek.Offset, Peek.Length);
    }

    DxNode ExpressionBody()
    {
        if (Peek.Kind == TokenKind.Identifier && PeekAt(1).Kind == TokenKind.Arrow)
        {
            var name = Next();
            Next();
            var body = Expression();
            return new DxLambda(name.Text, body, name.Offset, End(body) - name.Offset);
        }
        if (Peek.Kind == TokenKind.LeftParen && PeekAt(1).Kind == TokenKind.Identifier && PeekAt(2).Kind == TokenKind.RightParen && PeekAt(3).Kind == TokenKind.Arrow)
        {
            var open = Next();
            var name = Next();
            Next();
            Next();
            var body = Expression();
            return new DxLambda(name.Text, body, open.Offset, End(body) - open.Offset);
        }
        return Or();
    }

    DxNode Or()
    {
        var left = And();
        while (Peek.Kind == TokenKind.Or)
        {
            var op = Next();
            var right = And();
            left = new DxBinary(op.Text, left, right, left.Offset, End(right) - left.Offset);
        }
        return left;
    }

    DxNode And()
    {
        var left = Comparison();
        while (Peek.Kind == TokenKind.And)
        {
            var op = Next();
            var right = Comparison();
            left = new DxBinary(op.Text, left, right, left.Offset, End(right) - left.Offset);
        }
        return left;
    }

    DxNode Comparison()
    {
        var left = Sum();
        if (Peek.Kind is TokenKind.Equal or TokenKind.NotEqual or TokenKind.Less or TokenKind.LessEqual or TokenKind.Greater or TokenKind.GreaterEqual)
        {
            var op = Next();
            var right = Sum();
            left = new DxBinary(op.Text, left, right, left.Offset, End(right) - left.Offset);
            if (Peek.Kind is TokenKind.Equal or TokenKind.NotEqual or TokenKind.Less or TokenKind.LessEqual or TokenKind.Greater or TokenKind.GreaterEqual)
                throw new DxException("comparisons do not chain: use && between them", Peek.Offset, Peek.Length);
        }
        return left;
    }

    DxNode Sum()
    {
        var left = Product();
        while (Peek.Kind is TokenKind.Plus or TokenKind.Minus)
        {
            var op = Next();
            var right = Product();
            left = new DxBinary(op.Text, left, right, left.Offset, End(right) - left.Offset);
        }
        return left;
    }

    DxNode Product()
    {
        var left = Unary();
        while (Peek.Kind is TokenKind.Star or TokenKind.Slash or TokenKind.Percent)
        {
            var op = Next();
            var right = Unary();
            left = new DxBinary(op.Text, left, right, left.Offset, End(right) - left.Offset);
        }
        return left;
    }

    /// <summary>A C cast: '(' type words '*'* ')' operand, as in (unsigned long*)0x404028 or (char*)@rdi.</summary>
    DxCast Cast()
    {
        var open = Next();
        var words = new List<string>();
        while (Peek.Kind == TokenKind.Identifier)
            words.Add(Next().Text);
        var pointers = 0;
        while (Peek.Kind == TokenKind.Star)
        {
            Next();
            pointers++;
        }
        Expect(TokenKind.RightParen, "'*' or ')' to end the cast");
        var type = string.Join(' ', words);
        if (DxTypes.SizeOf(type) is null)
            throw new DxException($"unknown type '{type}': use char, short, int, long, long long (signed or unsigned), uint8_t ... uint64_t, size_t or void", open.Offset + 1, type.Length);
        Enter();
        try
        {
            var operand = Unary();
            return new DxCast(type, pointers, operand, open.Offset, End(operand) - open.Offset);
        }
        finally
        {
            _depth--;
        }
    }

    DxNode Unary()
    {
        if (Peek.Kind is TokenKind.Not or TokenKind.Minus or TokenKind.Star)
        {
            var op = Next();
            Enter();
            try
            {
                var operand = Unary();
                return new DxUnary(op.Text, operand, op.Offset, End(operand) - op.Offset);
            }
            finally
            {
                _depth--;
            }
        }
        return Postfix();
    }

    DxNode Postfix()
    {
        var node = Primary();
        for (var links = 0; ; links++)
        {
            if (links > MaxNesting)
                throw new DxException($"a chain of more than {MaxNesting} members, calls and indexes", Peek.Offset, Peek.Length);
            if (Peek.Kind == TokenKind.Dot)
            {
                Next();
                var name = Expect(TokenKind.Identifier, "a member name after '.'");
                if (Peek.Kind == TokenKind.LeftParen)
                {
                    Next();
                    var arguments = new List<DxNode>();
                    if (Peek.Kind != TokenKind.RightParen)
                    {
                        arguments.Add(Expression());
                        while (Peek.Kind == TokenKind.Comma)
                        {
                            Next();
                            arguments.Add(Expression());
                        }
                    }
                    var close = Expect(TokenKind.RightParen, arguments.Count == 0 ? "an argument or ')'" : "',' or ')'");
                    node = new DxCall(node, name.Text, arguments, node.Offset, close.Offset + 1 - node.Offset);
                }
                else
                {
                    node = new DxMember(node, name.Text, node.Offset, name.Offset + name.Length - node.Offset);
                }
            }
            else if (Peek.Kind == TokenKind.LeftBracket)
            {
                Next();
                var index = Expression();
                var close = Expect(TokenKind.RightBracket, "']'");
                node = new DxIndex(node, index, node.Offset, close.Offset + 1 - node.Offset);
            }
            else
            {
                return node;
            }
        }
    }

    DxNode Primary()
    {
        var token = Peek;
        switch (token.Kind)
        {
            case TokenKind.Number:
                Next();
                return new DxNumber((Int128)token.Number, token.Offset, token.Length);
            case TokenKind.String:
                Next();
                return new DxString(token.Text, token.Offset, token.Text.Length + 2);
            case TokenKind.Variable:
                Next();
                return new DxVariable(token.Text, token.Offset, token.Length);
            case TokenKind.Symbol:
                Next();
                return new DxSymbol(token.Text, token.Offset, token.Length);
            case TokenKind.Identifier:
                Next();
                return new DxName(token.Text, token.Offset, token.Length);
            case TokenKind.LeftParen when PeekAt(1).Kind == TokenKind.Identifier && DxTypes.IsTypeWord(PeekAt(1).Text):
                return Cast();
            case TokenKind.LeftParen:
                Next();
                var inner = Expression();
                Expect(TokenKind.RightParen, "')'");
                return inner;
            default:
                throw Unexpected("a number, a string, a name or '('");
        }
    }
}
